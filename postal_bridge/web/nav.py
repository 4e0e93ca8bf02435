"""The staff navigation: each area of the site registers its entries, the layout draws those of the user's role.

Registering here (instead of editing the layout) keeps the areas independent: ``register("counter", "counter.new",
_l("Yêu cầu mới"))`` in the counter module is all it takes. The first entry of a role is that role's home page.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from werkzeug.routing import BuildError


@dataclass(frozen=True)
class NavItem:
    role: str
    endpoint: str
    label: object  # a lazy gettext string
    order: int = 100


_ITEMS: list[NavItem] = []


def register(role: str, endpoint: str, label: object, *, order: int = 100) -> None:
    if any(i.role == role and i.endpoint == endpoint for i in _ITEMS):
        return
    _ITEMS.append(NavItem(role, endpoint, label, order))
    _ITEMS.sort(key=lambda i: (i.role, i.order))


def items_for(role: str | None) -> list[tuple[str, object, str]]:
    """(endpoint, label, url) for the role's entries whose endpoint exists in this app."""
    out = []
    for item in _ITEMS:
        if item.role != role:
            continue
        try:
            out.append((item.endpoint, item.label, url_for(item.endpoint)))
        except BuildError:
            continue
    return out


def home_url(role: str | None) -> str:
    entries = items_for(role)
    return entries[0][2] if entries else url_for("auth.account")
