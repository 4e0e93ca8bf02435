"""Bearer API keys: the caller (key + agency) for the current request."""

from __future__ import annotations

from flask import current_app, g, request

from postal_bridge.services.agencies import Caller, authenticate


def deps():
    return current_app.extensions["postal_bridge"].deps


def caller() -> Caller:
    if "caller" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.caller = authenticate(deps(), token.strip() if scheme.lower() == "bearer" else None)
    return g.caller
