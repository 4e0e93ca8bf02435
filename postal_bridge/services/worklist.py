"""A post office's worklist for a day: every open item of the office, in the pile that says what to do with it.

The piles and their rules are in ``domain/worklist.py``; the invitation dates and the overdue flag come from the same
rules as the deadline monitor (``domain/sla.py``). ``lookup`` (one code) is in ``services/scans.py``; the open
handover sessions in ``services/handover_sessions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.scans import ItemSummary
from postal_bridge.domain.sla import transit_overdue
from postal_bridge.domain.worklist import PILE_LABELS_VI, WORKLIST_STATUSES, Pile, invitations, next_actions, pile_of
from postal_bridge.services.clerk_scope import ClerkCaller, Summaries
from postal_bridge.services.deps import Deps
from postal_bridge.services.handover_sessions import open_sessions
from postal_bridge.services.scans import lookup

MAX_ITEMS = 5000
WEEKENDS_ONLY = WorkingCalendar(holidays=frozenset())


@dataclass(frozen=True)
class WorkItem:
    item: ItemSummary
    pile: str
    since: datetime  # the item's last change
    due_date: date | None  # J + n
    overdue: bool  # past J + n by the deadline monitor's rule
    attempts: int | None = None  # failed delivery attempts (results)
    second_invitation_on: date | None = None
    return_to_agency_by: date | None = None


@dataclass(frozen=True)
class Worklist:
    day: date
    post_office_code: str
    piles: dict[str, tuple[WorkItem, ...]]  # every pile, in the order of the day's work
    labels: dict[str, str]

    @property
    def counts(self) -> dict[str, int]:
        return {pile: len(items) for pile, items in self.piles.items()}


def clerk_worklist(deps: Deps, caller: ClerkCaller, *, day: date) -> Worklist:
    calendar = deps.calendar or WEEKENDS_ONLY
    statuses = {kind.value: [s.value for s in sts] for kind, sts in WORKLIST_STATUSES.items()}
    piles: dict[str, list[WorkItem]] = {p.value: [] for p in Pile}
    with deps.uow() as uow:
        ids = uow.clerk_scope.ids_in_status(caller.post_office_code, statuses, limit=MAX_ITEMS)
        found = uow.consignments.get_many(ids)
        summaries = Summaries(uow)
        for cid in ids:
            c = found[cid]
            pile = pile_of(c, day, calendar)
            if pile is None:
                continue
            inv = invitations(c, calendar) if pile in (Pile.FAILED, Pile.RETURN_TO_AGENCY) else None
            piles[pile.value].append(
                WorkItem(
                    item=summaries.of(c, tuple(a.value for a in next_actions(c.kind, c.status))),
                    pile=pile.value,
                    since=c.events[-1].occurred_at if c.events else c.created_at,
                    due_date=c.due_date,
                    overdue=transit_overdue(c, day) is not None,
                    attempts=inv.attempts if inv else None,
                    second_invitation_on=inv.second_invitation_on if inv else None,
                    return_to_agency_by=inv.return_to_agency_by if inv else None,
                )
            )
    return Worklist(
        day=day,
        post_office_code=caller.post_office_code,
        piles={p: tuple(items) for p, items in piles.items()},
        labels={p.value: PILE_LABELS_VI[p] for p in Pile},
    )


__all__ = ["WorkItem", "Worklist", "clerk_worklist", "lookup", "open_sessions"]
