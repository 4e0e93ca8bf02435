"""Events the one-stop dossier system sends us about one dossier, and which consignment each one moves.

The one-stop system updates a dossier by its code (TT 01/2018 Art 17.2). Its statuses that matter to the post
(reference/domain.md §3.5, §8.2–8.3):

- ``result_ready`` — status 9 "Đã xử lý xong": a return registered before the result existed (``awaiting_result``) can
  now be booked; at once, so same-day procedures are delivered immediately (QĐ 45/2016 Art 16.3);
- ``appointment_changed`` — Mẫu 04 "Phiếu xin lỗi và hẹn lại ngày trả kết quả": a new appointment date, no status
  change;
- ``withdrawn`` (status 7) and ``collected_at_counter`` — the return is no longer needed: cancel it while the courier
  does not have it yet;
- ``supplement_required`` (Mẫu 02) and ``rejected`` (Mẫu 03) — the agency's outcome for a pickup that brought it the
  dossier; a rejected paper dossier may be carried back to the citizen on a new return.

Everything here is pure: ``plan`` says what an event does to one consignment, the ``apply_*`` functions do it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from postal_bridge.domain.consignment import Consignment, Source
from postal_bridge.domain.status import CANCELLABLE, TERMINAL, Kind, Status

# How far in the future an ``occurred_at`` may lie (clock skew between the two systems).
MAX_SKEW = timedelta(minutes=5)
PAPER_DOSSIER_CONTENTS = "Hồ sơ gốc bị từ chối – trả lại"
MAX_REASON = 1000


class DossierEventType(StrEnum):
    RESULT_READY = "result_ready"
    APPOINTMENT_CHANGED = "appointment_changed"
    WITHDRAWN = "withdrawn"
    COLLECTED_AT_COUNTER = "collected_at_counter"
    SUPPLEMENT_REQUIRED = "supplement_required"
    REJECTED = "rejected"


T = DossierEventType
CANCELLING: frozenset[DossierEventType] = frozenset({T.WITHDRAWN, T.COLLECTED_AT_COUNTER})
OUTCOMES: frozenset[DossierEventType] = frozenset({T.SUPPLEMENT_REQUIRED, T.REJECTED})


class Action(StrEnum):
    """What one event did to one consignment (the ``action`` of each ``applied_to`` entry)."""

    NONE = "none"  # the event does not concern this consignment in its status
    BOOKING_STARTED = "booking_started"  # awaiting_result → requested, booking queued
    AWAITING_ADDRESS = "awaiting_address_confirmation"  # awaiting_result → requested; books once the ward is confirmed
    REDATED = "redated"  # new appointment date
    CANCELLED = "cancelled"  # cancelled (and with the courier, if it was booked)
    CANNOT_CANCEL = "cannot_cancel"  # the post already has the item
    OUTCOME_SET = "outcome_set"  # the pickup reached the agency: its outcome is recorded
    RECORDED = "recorded"  # the pickup has not reached the agency yet: the outcome waits for it
    CREATED = "created"  # a new return carrying the rejected paper dossier back to the citizen


def plan(event: DossierEventType, kind: Kind, status: Status) -> Action:
    """What ``event`` does to a consignment of ``kind`` in ``status`` (before any same-value check)."""
    if event == T.RESULT_READY:
        return Action.BOOKING_STARTED if kind == Kind.RETURN and status == Status.AWAITING_RESULT else Action.NONE
    if event == T.APPOINTMENT_CHANGED:
        return Action.NONE if status in TERMINAL else Action.REDATED
    if event in CANCELLING:
        if kind != Kind.RETURN or status == Status.CANCELLED:
            return Action.NONE
        if status in CANCELLABLE:
            return Action.CANCELLED
        return Action.NONE if status in TERMINAL else Action.CANNOT_CANCEL
    if event in OUTCOMES:
        if kind != Kind.PICKUP:
            return Action.NONE
        if status == Status.DELIVERED:
            return Action.OUTCOME_SET
        return Action.NONE if status in TERMINAL else Action.RECORDED
    raise ValueError(f"unknown dossier event {event!r}")


def validate(
    event: str,
    *,
    appointment_date: date | None,
    occurred_at: datetime | None,
    return_paper_dossier: bool,
    reason: str | None,
    now: datetime,
) -> dict[str, list[str]]:
    """Field errors of one event (empty when it is acceptable)."""
    errors: dict[str, list[str]] = {}
    types = [t.value for t in DossierEventType]
    if event not in types:
        errors["type"] = [f"Must be one of: {', '.join(types)}."]
    elif event == T.APPOINTMENT_CHANGED and appointment_date is None:
        errors["appointment_date"] = ["Required for appointment_changed (the new date of Mẫu 04)."]
    if occurred_at is not None:
        if occurred_at.tzinfo is None:
            errors["occurred_at"] = ["Give the time with its UTC offset."]
        elif occurred_at > now + MAX_SKEW:
            errors["occurred_at"] = ["Lies in the future."]
    if return_paper_dossier and event != T.REJECTED:
        errors["return_paper_dossier"] = ["Only with a 'rejected' event."]
    if reason is not None and len(reason) > MAX_REASON:
        errors["reason"] = [f"At most {MAX_REASON} characters."]
    return errors


def cancel_description(event: DossierEventType, reason: str | None) -> str:
    base = {
        T.WITHDRAWN: "The citizen withdrew the dossier (one-stop status 7)",
        T.COLLECTED_AT_COUNTER: "The citizen collected the result at the counter",
    }[event]
    return f"{base}: {reason}" if reason else base


def apply_result_ready(c: Consignment, *, now: datetime, ready_at: datetime, actor: str | None) -> None:
    """awaiting_result → requested; the one-stop said the result exists (status 9)."""
    c.transition(
        Status.REQUESTED,
        occurred_at=now,
        source=Source.API,
        actor=actor,
        description="Result ready at the one-stop (status 9); booking the collection",
    )
    c.result_ready_at = ready_at


def apply_redate(c: Consignment, new_date: date) -> bool:
    """Mẫu 04: the dossier's new appointment date. Returns False when it already was that date."""
    if c.dossier.appointment_date == new_date:
        return False
    c.dossier = replace(c.dossier, appointment_date=new_date)
    c.version += 1
    return True


def apply_outcome(c: Consignment, outcome: DossierEventType, *, at: datetime) -> None:
    """The agency's outcome for a pickup's dossier (Mẫu 02 / Mẫu 03). Not a status change."""
    c.agency_outcome = outcome.value
    c.agency_outcome_at = at
    c.version += 1


@dataclass(frozen=True)
class DossierEventCommand:
    """One event as the dossier system sent it (``type`` unchecked until ``validate``)."""

    type: str
    occurred_at: datetime | None = None  # when it happened at the one-stop; default: when we received it
    appointment_date: date | None = None  # appointment_changed: the new date (Mẫu 04)
    reason: str | None = None
    return_paper_dossier: bool = False  # rejected: carry the paper dossier back to the citizen

    def as_payload(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
            "appointment_date": self.appointment_date.isoformat() if self.appointment_date else None,
            "reason": self.reason,
            "return_paper_dossier": self.return_paper_dossier,
        }


@dataclass
class DossierEvent:
    """One event received from the dossier system, stored as received with what it did (``payload``)."""

    agency_id: str
    dossier_code: str
    type: str
    payload: dict[str, Any]
    received_at: datetime
    actor: str
    id: int | None = None

    @property
    def idempotency_key(self) -> str | None:
        return self.payload.get("idempotency_key")

    @property
    def answer(self) -> dict[str, Any]:
        """The response given to the dossier system for this event (replayed for the same Idempotency-Key)."""
        return {"event_id": self.id, "type": self.type, "applied_to": list(self.payload.get("applied_to", []))}


class DossierEventRepository(Protocol):
    def add(self, event: DossierEvent) -> int: ...

    def by_idempotency_key(self, agency_id: str, key: str) -> DossierEvent | None: ...

    def for_dossier(self, agency_id: str, dossier_code: str) -> list[DossierEvent]: ...
