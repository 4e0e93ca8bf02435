"""What the administrator's pages read: the outbox as a work list, counts for the overview, keys with their last use.

Pure stdlib. The storage fills these in (``uow.admin``); the services (``services.admin``) decide who may see them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from postal_bridge.domain.model import ApiKey, OutboxKind, OutboxState


class OutboxView(StrEnum):
    """How the outbox page filters: ``retrying`` is a pending item that failed at least once; ``open`` is every item
    not done (pending, retrying, in flight and dead)."""

    OPEN = "open"
    PENDING = "pending"
    RETRYING = "retrying"
    IN_FLIGHT = "in_flight"
    DEAD = "dead"
    DONE = "done"


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as the administrator sees it: what, for which consignment and agency, how it went."""

    id: int
    kind: OutboxKind
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    completed_at: datetime | None
    last_error: str | None  # already scrubbed of personal data (``scrub_error``)
    consignment_id: str | None
    tracking_code: str | None
    agency_code: str | None

    @property
    def view(self) -> OutboxView:
        if self.state == OutboxState.PENDING:
            return OutboxView.RETRYING if self.attempts > 0 else OutboxView.PENDING
        return OutboxView(self.state.value)


@dataclass(frozen=True)
class OutboxCounts:
    pending: int = 0  # waiting for its first attempt
    retrying: int = 0  # failed at least once, waiting for the next attempt
    in_flight: int = 0
    dead: int = 0
    done: int = 0

    @property
    def open(self) -> int:
        return self.pending + self.retrying + self.in_flight + self.dead

    def of(self, view: OutboxView) -> int:
        return self.open if view == OutboxView.OPEN else int(getattr(self, view.value))


@dataclass(frozen=True)
class AdminCounts:
    """The overview's figures."""

    agencies: int
    users: int
    users_locked: int
    users_disabled: int
    keys_active: int
    keys_revoked: int
    outbox: OutboxCounts
    webhooks_dead: int
    alerts_open: int


@dataclass(frozen=True)
class KeyListing:
    """An API key with its agency and when it was last seen creating something (None: never, as far as we know)."""

    key: ApiKey
    agency_code: str
    last_used_at: datetime | None


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay from the outbox page did, per item chosen."""

    requeued: tuple[int, ...]  # back to pending, due now, attempts reset
    not_dead: tuple[int, ...]  # no longer dead (already replayed, or never was): left alone
    endpoint_unusable: tuple[int, ...]  # dead callbacks whose key is revoked, has no URL or was disabled by 410 Gone
    reenabled: int = 0  # callback endpoints re-enabled by this replay


# Personal data must never reach the page through an error text: phone numbers (0…, 84…, +84…), e-mail addresses and
# long digit runs (ID numbers) are masked before anything is shown, and so are the item's own personal strings (the
# citizen's name and street, ``known``), which a courier may echo back in its error ("Người nhận Trần Văn An …").
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w])(?:\+?84|0)(?:[\s.-]?\d){8,10}(?![\w])")
_DIGITS = re.compile(r"(?<![\w])\d{9,}(?![\w])")  # not inside item codes such as EB123456785VN
MAX_ERROR = 300
MASK = "***"
_MIN_KNOWN = 3  # shorter strings (an initial, "Số 1") would mask ordinary words of the error


def scrub_error(text: str | None, known: Iterable[str | None] = ()) -> str | None:
    """An error text safe to show an administrator: no phone numbers, e-mails or ID numbers, none of the ``known``
    personal strings (matched ignoring case, Vietnamese diacritics and spacing, so "TRAN VAN AN" is caught for
    "Trần Văn An"), at most 300 characters."""
    if not text:
        return text
    out = _mask_known(text, known)
    out = _EMAIL.sub("***@***", out)
    out = _PHONE.sub(lambda m: _mask_digits(m.group(0)), out)
    out = _DIGITS.sub(lambda m: _mask_digits(m.group(0)), out)
    return out if len(out) <= MAX_ERROR else out[: MAX_ERROR - 1] + "…"


def _mask_digits(raw: str) -> str:
    digits = [c for c in raw if c.isdigit()]
    return "*" * max(len(digits) - 2, 0) + "".join(digits[-2:])


def _fold_char(c: str) -> str:
    """One character without its diacritics, lower case ("Ệ" → "e", "đ" → "d"); a lone combining mark → ""."""
    if c in "đĐ":
        return "d"
    base = "".join(x for x in unicodedata.normalize("NFD", c) if not unicodedata.combining(x))
    return base.lower()


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` folded character by character, and for each folded character the index it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        for f in _fold_char(c):
            chars.append(f)
            origin.append(i)
    return "".join(chars), origin


def _mask_known(text: str, known: Iterable[str | None]) -> str:
    needles = []
    for value in known:
        words = _folded(unicodedata.normalize("NFC", value or ""))[0].split()
        if len(" ".join(words)) >= _MIN_KNOWN:
            needles.append(r"\s+".join(re.escape(w) for w in words))
    if not needles:
        return text
    # Longest first, so a street that contains the name is masked whole.
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(sorted(needles, key=len, reverse=True)) + r")(?!\w)")
    text = unicodedata.normalize("NFC", text)
    folded, origin = _folded(text)
    spans = [(origin[m.start()], _past_marks(text, origin[m.end() - 1] + 1)) for m in pattern.finditer(folded)]
    for start, end in reversed(spans):
        text = text[:start] + MASK + text[end:]
    return text


def _past_marks(text: str, end: int) -> int:
    """``end`` moved past combining marks left over after NFC (they fold to nothing), so none dangles after a mask."""
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return end
