"""Pages every visitor shares: help (the same link, in the same place, on every page — WCAG 3.2.6)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/help")
def help_page():
    return render_template("help.html")
