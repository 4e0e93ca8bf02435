"""The deadline (SLA) monitor run by the scheduler, and the "needs attention" list built from what it finds.

Each breach is stored once per consignment and kind (UNIQUE), and in the same transaction a signed
``consignment.deadline_breached`` callback is queued for the consignment's API key (when it has a callback URL). When
the condition clears the row gets ``resolved_at`` and nothing is sent; if it comes back (a stale item goes quiet again,
a second complaint runs late) the same row is reopened, without a second callback. The breach rows are the
consignment's deadline events: they never change its status.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.sla import (
    BREACH_LABELS_VI,
    CUSTODY,
    STALE_CUSTODY_WORKING_DAYS,
    WATCHED,
    Breach,
    BreachKind,
    evaluate,
    local_date,
    reconcile,
)
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import add_outbox

log = logging.getLogger("postal_bridge.sla")

EVENT_TYPE = "consignment.deadline_breached"
BREACH_KINDS = frozenset(k.value for k in BreachKind)
WEEKENDS_ONLY = WorkingCalendar(holidays=frozenset())

# Where the previous scan stopped (process-local): successive rounds walk all candidates even beyond ``limit``.
_cursor = {"after": ""}


def scan(deps: Deps, *, limit: int = 2000, stale_after_working_days: int = STALE_CUSTODY_WORKING_DAYS) -> int:
    """Check up to ``limit`` consignments against every deadline rule; returns how many new breaches were recorded."""
    now = deps.clock.now()
    today = local_date(now)
    calendar = deps.calendar or WEEKENDS_ONLY
    statuses = sorted(s.value for s in WATCHED)
    after = _cursor["after"]
    with deps.uow() as uow:
        ids = uow.breaches.scan_candidates(statuses=statuses, after=after, limit=limit)
        if len(ids) < limit and after:  # wrap around to the start
            ids += [
                i
                for i in uow.breaches.scan_candidates(statuses=statuses, after="", limit=limit - len(ids))
                if i <= after
            ]
    _cursor["after"] = ids[-1] if len(ids) >= limit else ""

    created = 0
    wake: list[int] = []
    for consignment_id in ids:
        try:
            n, outbox_ids = _check(
                deps, consignment_id, now=now, today=today, calendar=calendar, stale_after=stale_after_working_days
            )
        except Exception:  # one bad row must not stop the monitor
            log.exception("deadline check failed", extra={"consignment_id": consignment_id})
            continue
        created += n
        wake += outbox_ids
    deps.wake(wake)
    if created:
        log.info("deadline breaches recorded", extra={"count": created})
    return created


def _check(
    deps: Deps, consignment_id: str, *, now: datetime, today: date, calendar: WorkingCalendar, stale_after: int
) -> tuple[int, list[int]]:
    with deps.uow() as uow:
        c = uow.consignments.get(consignment_id)
        if c is None:
            return 0, []
        complaints = uow.complaints.for_consignment(consignment_id)
        last_courier = uow.breaches.last_courier_event_at(consignment_id) if c.status in CUSTODY else None
        findings = evaluate(
            c,
            today,
            calendar,
            complaints=complaints,
            stale_after_working_days=stale_after,
            last_courier_event_at=last_courier,
        )
        plan = reconcile(uow.breaches.for_consignment(consignment_id), findings)
        if not (plan.new or plan.resolve or plan.reopen):
            return 0, []
        created = 0
        outbox_ids: list[int] = []
        key = uow.api_keys.get(c.api_key_id) if c.api_key_id else None
        for finding in plan.new:
            breach = Breach(
                consignment_id=c.id,
                kind=finding.kind,
                detected_at=now,
                due_at=finding.due_at,
                details=finding.details,
            )
            if not uow.breaches.add(breach):  # another scanner recorded it first
                continue
            created += 1
            if key is not None and key.callback_url:
                outbox_ids.append(
                    add_outbox(
                        uow,
                        OutboxKind.NOTIFY_DOSSIER,
                        now=now,
                        consignment_id=c.id,
                        ordering_key=f"webhook:{c.id}",
                        payload={
                            "api_key_id": key.id,
                            "message_id": "msg_" + uuid.uuid4().hex,
                            "body": breach_body(c, breach),
                        },
                    )
                )
        for breach in plan.resolve:
            assert breach.id is not None
            uow.breaches.resolve(breach.id, at=now)
        for breach, finding in plan.reopen:
            assert breach.id is not None
            uow.breaches.reopen(breach.id, details=finding.details, due_at=finding.due_at)
        uow.commit()
    return created, outbox_ids


def breach_body(c: Consignment, breach: Breach) -> str:
    """The callback body: ids, statuses and dates only, never personal data."""
    return json.dumps(
        {
            "type": EVENT_TYPE,
            "timestamp": breach.detected_at.isoformat(),
            "data": {
                "consignment_id": c.id,
                "dossier_code": c.dossier.code,
                "kind": c.kind.value,
                "status": c.status.value,
                "breach": breach.kind.value,
                "due_at": breach.due_at.isoformat() if breach.due_at else None,
                "detected_at": breach.detected_at.isoformat(),
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


REASON_LABELS_VI = {
    **{k.value: v for k, v in BREACH_LABELS_VI.items()},
    "address_unconfirmed": "Địa chỉ cần người xác nhận (xã/phường bị chia tách)",
    "delivery_failed": "Phát không thành công",
}


def needs_attention(deps: Deps, caller: Caller, *, limit: int = 500) -> list[dict]:
    """The agency's open breaches, addresses awaiting confirmation and failed deliveries, newest first."""
    with deps.uow() as uow:
        items = uow.breaches.attention(caller.agency.id, limit=limit)
    return [
        {
            "consignment_id": i.consignment_id,
            "dossier_code": i.dossier_code,
            "kind": i.kind,
            "status": i.status,
            "reason": i.reason,
            "label": REASON_LABELS_VI.get(i.reason, i.reason),
            "breach": i.reason if i.reason in BREACH_KINDS else None,
            "since": i.since,
            "due_at": i.due_at,
            "details": i.details,
        }
        for i in items
    ]
