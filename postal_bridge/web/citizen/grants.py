"""The browser's proof that the citizen entered a right code: a short flag in the signed session cookie, per link and
action, for ``VERIFIED_FOR`` (10 minutes). The link's token is never stored, only a prefix of its SHA-256."""

from __future__ import annotations

from datetime import datetime

from flask import session

from postal_bridge.domain.citizen import Action, token_digest

KEY = "citizen_verified"


def _slot(token: str, action: Action) -> str:
    return f"{token_digest(token)[:16]}:{action.value}"


def _live(now: datetime) -> dict[str, float]:
    stored = session.get(KEY)
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if isinstance(v, int | float) and v > now.timestamp()}


def grant(token: str, action: Action, until: datetime, now: datetime) -> None:
    flags = _live(now)
    flags[_slot(token, action)] = until.timestamp()
    session[KEY] = flags


def verified(token: str, action: Action, now: datetime) -> bool:
    return _slot(token, action) in _live(now)


def verified_actions(token: str, now: datetime) -> list[Action]:
    flags = _live(now)
    return [a for a in Action if _slot(token, a) in flags]
