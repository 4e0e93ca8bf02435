"""A post office's day: what a clerk can do next with an item, and which pile of the worklist it belongs to.

Piles (each item is in exactly one):

* ``collect_at_agency`` — results (returns) and outgoing transfers waiting at their agency (a ``to_post`` handover);
* ``collect_from_citizen`` — pickups booked, or to visit again after a failed visit;
* ``arrived`` — results in postal custody, to sort and take out for delivery;
* ``out_for_delivery`` — results out with a clerk;
* ``failed`` — results whose delivery failed, waiting for the next attempt or invitation (at least two invitations,
  02 working days apart: TT 17/2017 Art 5.2.h);
* ``return_to_agency`` — results going back to the agency: started (``returning_to_agency``), or whose invitations are
  over by the deadline monitor's own rule (``domain/sla.invitation_overdue``), so the two never disagree;
* ``hand_to_agency`` — dossiers (pickups, incoming transfers) in postal custody, for a ``to_agency`` handover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.handover_sessions import move_target
from postal_bridge.domain.model import HandoverDirection
from postal_bridge.domain.outcomes import (
    DELIVERABLE,
    FAILABLE_RETURN,
    PICKUP_ATTEMPTABLE,
    RETURNABLE,
    failed_attempts,
)
from postal_bridge.domain.scans import Action, ScanMode, ScanOutcome, decide
from postal_bridge.domain.sla import INVITATION_WORKING_DAYS, invitation_overdue, local_date
from postal_bridge.domain.status import Kind, Status

_SCAN_ACTIONS = (
    (ScanMode.COLLECT, Action.COLLECT),
    (ScanMode.ARRIVE, Action.ARRIVE),
    (ScanMode.OUT_FOR_DELIVERY, Action.OUT_FOR_DELIVERY),
)


def next_actions(kind: Kind, status: Status) -> tuple[Action, ...]:
    """Every step a clerk may record for an item of ``kind`` in ``status`` now, in the order of the journey."""
    actions = [action for mode, action in _SCAN_ACTIONS if decide(mode, kind, status).outcome == ScanOutcome.ACCEPTED]
    if move_target(HandoverDirection.TO_POST, kind, status):
        actions.insert(0, Action.HANDOVER_TO_POST)
    if kind == Kind.RETURN and status in DELIVERABLE:
        actions.append(Action.DELIVERED)
    if (kind == Kind.RETURN and status in FAILABLE_RETURN) or (kind == Kind.PICKUP and status in PICKUP_ATTEMPTABLE):
        actions.append(Action.FAILED)
    if kind == Kind.RETURN and status in RETURNABLE:
        actions.append(Action.RETURN_TO_AGENCY)
    if move_target(HandoverDirection.TO_AGENCY, kind, status):
        actions.append(Action.HANDOVER_TO_AGENCY)
    return tuple(actions)


class Pile(StrEnum):
    COLLECT_AT_AGENCY = "collect_at_agency"
    COLLECT_FROM_CITIZEN = "collect_from_citizen"
    ARRIVED = "arrived"
    OUT_FOR_DELIVERY = "out_for_delivery"
    FAILED = "failed"
    RETURN_TO_AGENCY = "return_to_agency"
    HAND_TO_AGENCY = "hand_to_agency"


PILE_LABELS_VI: dict[Pile, str] = {
    Pile.COLLECT_AT_AGENCY: "Nhận kết quả tại cơ quan",
    Pile.COLLECT_FROM_CITIZEN: "Nhận hồ sơ tại nhà công dân",
    Pile.ARRIVED: "Tại bưu cục, chờ đi phát",
    Pile.OUT_FOR_DELIVERY: "Đang đi phát",
    Pile.FAILED: "Phát không thành công, chờ phát lại / mời nhận",
    Pile.RETURN_TO_AGENCY: "Chuyển hoàn về cơ quan",
    Pile.HAND_TO_AGENCY: "Bàn giao hồ sơ cho cơ quan",
}

# What the worklist loads, per kind (every status some pile takes).
WORKLIST_STATUSES: dict[Kind, tuple[Status, ...]] = {
    Kind.RETURN: (
        Status.BOOKED,
        Status.PICKUP_FAILED,
        Status.PICKED_UP,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.AVAILABLE_FOR_PICKUP,
        Status.RETURNING_TO_AGENCY,
    ),
    Kind.PICKUP: (
        Status.BOOKED,
        Status.PICKUP_FAILED,
        Status.PICKED_UP,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
    ),
    Kind.TRANSFER: (Status.BOOKED, Status.PICKED_UP, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY),
}


def pile_of(c: Consignment, today: date, calendar: WorkingCalendar) -> Pile | None:
    status = c.status
    if move_target(HandoverDirection.TO_POST, c.kind, status):
        return Pile.COLLECT_AT_AGENCY
    if move_target(HandoverDirection.TO_AGENCY, c.kind, status) and c.kind != Kind.RETURN:
        return Pile.HAND_TO_AGENCY
    if c.kind == Kind.PICKUP and status in PICKUP_ATTEMPTABLE:
        return Pile.COLLECT_FROM_CITIZEN
    if c.kind != Kind.RETURN:
        return None
    if status in (Status.PICKED_UP, Status.IN_TRANSIT):
        return Pile.ARRIVED
    if status == Status.OUT_FOR_DELIVERY:
        return Pile.OUT_FOR_DELIVERY
    if status == Status.RETURNING_TO_AGENCY:
        return Pile.RETURN_TO_AGENCY
    if status in (Status.DELIVERY_FAILED, Status.AVAILABLE_FOR_PICKUP):
        return Pile.RETURN_TO_AGENCY if invitation_overdue(c, today, calendar) else Pile.FAILED
    return None


@dataclass(frozen=True)
class Invitations:
    """Where a failed result stands with its invitations (the deadline monitor's arithmetic)."""

    attempts: int  # failed delivery attempts so far
    failed_on: date  # the last failed attempt (the first invitation goes out with it)
    second_invitation_on: date
    return_to_agency_by: date


def invitations(c: Consignment, calendar: WorkingCalendar) -> Invitations | None:
    if c.kind != Kind.RETURN:
        return None
    failed = [e for e in c.events if e.status == Status.DELIVERY_FAILED]
    if not failed:
        return None
    failed_on = local_date(failed[-1].occurred_at)
    return Invitations(
        attempts=failed_attempts(c),
        failed_on=failed_on,
        second_invitation_on=calendar.add_working_days(failed_on, INVITATION_WORKING_DAYS // 2),
        return_to_agency_by=calendar.add_working_days(failed_on, INVITATION_WORKING_DAYS),
    )
