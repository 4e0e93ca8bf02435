"""The B-http baseline: a bare Flask hello-world JSON app, served by gunicorn with the product's own config."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> dict:
    return {"hello": "world"}


@app.get("/healthz")
def healthz() -> dict:  # what the runner polls before each load phase, as it does the product's
    return {"status": "ok"}
