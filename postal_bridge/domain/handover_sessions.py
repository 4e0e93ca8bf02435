"""Handover sessions (bàn giao): a clerk and an agency count items together before both sign the Biên bản giao nhận.

A session is opened by a clerk for one agency and one direction:

* ``to_post`` — the clerk collects results (returns) and outgoing transfers at the agency;
* ``to_agency`` — the clerk brings dossiers (pickups, incoming transfers) or undelivered results to the agency.

At opening the **expected** list is fixed: every item of that agency, visible to the clerk, that ``MOVES`` can hand
over in that direction now. The clerk then scans what is physically there. An item scanned but not expected is an
**extra**: it is added to the record when ``MOVES`` can move it now, otherwise it is shown with the reason and
excluded. Expected items not scanned are **missing**, and the Biên bản says so ("Thiếu so với danh sách"). When both
sides confirm, the handover record is created and every item on it moves, in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from postal_bridge.domain.model import HandoverDirection
from postal_bridge.domain.status import STATUS_LABELS_VI, Kind, Status

_IN_POSTAL_CUSTODY_TO_AGENCY = {
    Status.PICKED_UP: Status.DELIVERED,
    Status.IN_TRANSIT: Status.DELIVERED,
    Status.OUT_FOR_DELIVERY: Status.DELIVERED,
}
# (direction, kind, current status) → status after the handover.
MOVES: dict[tuple[HandoverDirection, Kind], dict[Status, Status]] = {
    (HandoverDirection.TO_POST, Kind.RETURN): {Status.BOOKED: Status.PICKED_UP, Status.PICKUP_FAILED: Status.PICKED_UP},
    (HandoverDirection.TO_POST, Kind.TRANSFER): {Status.BOOKED: Status.PICKED_UP},
    (HandoverDirection.TO_AGENCY, Kind.PICKUP): dict(_IN_POSTAL_CUSTODY_TO_AGENCY),
    (HandoverDirection.TO_AGENCY, Kind.TRANSFER): dict(_IN_POSTAL_CUSTODY_TO_AGENCY),
    (HandoverDirection.TO_AGENCY, Kind.RETURN): {Status.RETURNING_TO_AGENCY: Status.RETURNED_TO_AGENCY},
}

DIRECTION_LABELS_VI: dict[HandoverDirection, str] = {
    HandoverDirection.TO_POST: "Nhận bàn giao từ cơ quan (kết quả, hồ sơ liên thông)",
    HandoverDirection.TO_AGENCY: "Bàn giao cho cơ quan (hồ sơ, kết quả chuyển hoàn)",
}


def move_target(direction: HandoverDirection, kind: Kind, status: Status) -> Status | None:
    return MOVES.get((direction, kind), {}).get(status)


def movable_statuses(direction: HandoverDirection) -> dict[Kind, tuple[Status, ...]]:
    """Per kind, the statuses a handover in ``direction`` moves (what the expected list is computed from)."""
    return {kind: tuple(moves) for (d, kind), moves in MOVES.items() if d == direction}


def why_not_movable(direction: HandoverDirection, kind: Kind, status: Status) -> str:
    """Vietnamese reason why an item cannot go on a handover in ``direction`` now."""
    if direction == HandoverDirection.TO_POST and kind == Kind.PICKUP:
        return "Hồ sơ nhận tại nhà công dân không bàn giao từ cơ quan cho bưu điện."
    here = STATUS_LABELS_VI[status]
    if direction == HandoverDirection.TO_POST:
        return f"Bưu gửi đang ở trạng thái '{here}'; chỉ nhận bàn giao bưu gửi đã tạo, chưa được bưu điện nhận."
    if kind == Kind.RETURN:
        return f"Kết quả đang ở trạng thái '{here}'; chỉ bàn giao lại kết quả đang chuyển hoàn về cơ quan."
    return f"Hồ sơ đang ở trạng thái '{here}'; chỉ bàn giao hồ sơ bưu điện đang giữ."


class SessionState(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


def new_session_id(now: datetime) -> str:
    """Short, printable as Code128: ``BG-261122-7F3K9Q`` (BG for bàn giao)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"BG-{now:%y%m%d}-" + "".join(secrets.choice(alphabet) for _ in range(6))


@dataclass
class HandoverSession:
    id: str
    post_office_code: str
    user_id: str
    opened_by: str  # the clerk's actor
    agency_id: str
    direction: HandoverDirection
    opened_at: datetime
    state: SessionState = SessionState.OPEN
    closed_at: datetime | None = None
    handover_id: str | None = None  # the Biên bản, once confirmed

    @property
    def is_open(self) -> bool:
        return self.state == SessionState.OPEN


@dataclass(frozen=True)
class SessionItem:
    consignment_id: str
    seq: int
    expected: bool
    scanned_at: datetime | None = None
    excluded_reason: str | None = None  # scanned, but it cannot be handed over (shown, not on the record)

    @property
    def scanned(self) -> bool:
        return self.scanned_at is not None


@dataclass(frozen=True)
class Tally:
    """The session's arithmetic, each list in scan (or, for missing, expected) order."""

    expected: tuple[str, ...]
    scanned: tuple[str, ...]  # every item scanned and accepted, expected or extra
    missing: tuple[str, ...]  # expected, not scanned
    extra: tuple[str, ...]  # scanned and accepted, not expected
    excluded: tuple[tuple[str, str], ...]  # (id, reason): scanned, but it cannot be handed over
    to_hand_over: tuple[str, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        return {
            "expected": len(self.expected),
            "scanned": len(self.scanned),
            "missing": len(self.missing),
            "extra": len(self.extra),
            "excluded": len(self.excluded),
        }


def tally(items: Sequence[SessionItem]) -> Tally:
    by_seq = sorted(items, key=lambda i: i.seq)
    by_scan = sorted((i for i in by_seq if i.scanned), key=lambda i: (i.scanned_at, i.seq))
    accepted = [i for i in by_scan if i.excluded_reason is None]
    return Tally(
        expected=tuple(i.consignment_id for i in by_seq if i.expected),
        scanned=tuple(i.consignment_id for i in accepted),
        missing=tuple(i.consignment_id for i in by_seq if i.expected and not i.scanned),
        extra=tuple(i.consignment_id for i in accepted if not i.expected),
        excluded=tuple((i.consignment_id, i.excluded_reason or "") for i in by_scan if i.excluded_reason),
        to_hand_over=tuple(i.consignment_id for i in accepted),
    )


class HandoverSessionRepository(Protocol):
    def add(self, session: HandoverSession, expected: Sequence[str]) -> None:
        """Insert the session with its expected items; ``Conflict`` if the clerk has one open for the same
        agency and direction (a concurrent open)."""
        ...

    def get(self, session_id: str) -> HandoverSession | None: ...

    def get_many(self, session_ids: Sequence[str]) -> dict[str, HandoverSession]: ...

    def open_for(self, user_id: str, agency_id: str, direction: HandoverDirection) -> HandoverSession | None: ...

    def open_of_user(self, user_id: str) -> list[HandoverSession]: ...

    def items(self, session_id: str) -> list[SessionItem]: ...

    def items_many(self, session_ids: Sequence[str]) -> dict[str, list[SessionItem]]: ...

    def mark_scanned(
        self, session_id: str, consignment_id: str, *, at: datetime, excluded_reason: str | None
    ) -> None: ...

    def add_extra(
        self, session_id: str, consignment_id: str, *, seq: int, at: datetime, excluded_reason: str | None
    ) -> None: ...

    def close(self, session_id: str, *, state: SessionState, at: datetime, handover_id: str | None) -> bool:
        """Move an open session to ``state``; False when it was not open any more."""
        ...
