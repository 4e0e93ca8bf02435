"""Turn a consignment's new events into outbox rows, inside the same transaction as the change."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.model import ApiKey, OutboxItem, OutboxKind
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.status import Status
from postal_bridge.domain.webhooks import STATUS_CHANGED, legal_submission_time, one_stop_status

if TYPE_CHECKING:
    from postal_bridge.services.deps import Deps

EVENT_TYPE = STATUS_CHANGED


def add_outbox(
    uow: UnitOfWork,
    kind: OutboxKind,
    *,
    now: datetime,
    consignment_id: str | None,
    payload: dict[str, Any],
    ordering_key: str | None = None,
    not_before: datetime | None = None,
) -> int:
    item = _item(
        kind, now=now, consignment_id=consignment_id, payload=payload, ordering_key=ordering_key, not_before=not_before
    )
    uow.outbox.add(item)
    assert item.id is not None
    return item.id


def _item(
    kind: OutboxKind,
    *,
    now: datetime,
    consignment_id: str | None,
    payload: dict[str, Any],
    ordering_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxItem:
    return OutboxItem(
        kind=kind,
        payload=payload,
        created_at=now,
        next_attempt_at=not_before or now,
        consignment_id=consignment_id,
        ordering_key=ordering_key,
    )


def webhook_body(c: Consignment, *, status: Status, previous: Status | None, occurred_at: datetime) -> str:
    """The thin, stable body sent to the dossier system: ids and statuses only, never personal data.

    ``one_stop_status`` is the one-stop status the change implies (10 only for a delivered return, never for a result
    returned to the agency); ``legal_submission_time`` is set when a pickup is handed to the agency.
    """
    submitted = legal_submission_time(c.kind, status, occurred_at)
    return json.dumps(
        {
            "type": EVENT_TYPE,
            "timestamp": occurred_at.isoformat(),
            "data": {
                "consignment_id": c.id,
                "dossier_code": c.dossier.code,
                "kind": c.kind.value,
                "status": status.value,
                "previous_status": previous.value if previous else None,
                "occurred_at": occurred_at.isoformat(),
                "tracking_code": c.tracking_code,
                "one_stop_status": one_stop_status(c.kind, status),
                "legal_submission_time": submitted.isoformat() if submitted else None,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def record_effects(uow: UnitOfWork, c: Consignment, *, now: datetime, deps: Deps) -> list[int]:
    """Outbox rows for every event appended since load: a signed callback each, a label render once booked, and the
    citizen's SMS for each change that has a template (``services.sms``: once per event, deduplicated).

    Call after the consignment was added or saved (the rows reference it); the events are then marked handled.
    A consignment made through an API key reports to that key's callback URL; one made by a person at the counter
    (no key) reports to every callback URL of its agency's dossier-system keys, so the one-stop system hears of it too.
    """
    return record_effects_many(uow, [c], now=now, deps=deps)


def record_effects_many(
    uow: UnitOfWork, consignments: Sequence[Consignment], *, now: datetime, deps: Deps
) -> list[int]:
    """``record_effects`` for several consignments changed in one transaction (a clerk's batch of scans, a handover):
    each receiver is looked up once and every outbox row is inserted in one statement, in the same order as one by
    one. The citizen's SMS are queued per consignment (``services.sms``: once per event, deduplicated)."""
    from postal_bridge.services import sms

    found: dict[str, list[ApiKey]] = {}
    sms_ids: list[int] = []
    items: list[OutboxItem] = []
    for c in consignments:
        receivers = _receivers(uow, c, found) if c.new_events else []
        for event in c.new_events:
            for key in receivers:
                items.append(
                    _item(
                        OutboxKind.NOTIFY_DOSSIER,
                        now=now,
                        consignment_id=c.id,
                        ordering_key=f"webhook:{c.id}" if len(receivers) == 1 else f"webhook:{c.id}:{key.id}",
                        payload={
                            "api_key_id": key.id,
                            "message_id": "msg_" + uuid.uuid4().hex,
                            "body": webhook_body(
                                c, status=event.status, previous=event.previous_status, occurred_at=event.occurred_at
                            ),
                        },
                    )
                )
            if event.status == Status.BOOKED:
                items.append(_item(OutboxKind.RENDER_LABEL, now=now, consignment_id=c.id, payload={}))
        sms_ids += sms.queue_for_events(uow, deps, c, c.new_events)
        c.new_events.clear()
    uow.outbox.add_many(items)
    return [item.id for item in items if item.id is not None] + sms_ids


def _receivers(uow: UnitOfWork, c: Consignment, found: dict[str, list[ApiKey]]) -> list[ApiKey]:
    if c.api_key_id:
        slot = "key:" + c.api_key_id
        if slot not in found:
            key = uow.api_keys.get(c.api_key_id)
            found[slot] = [key] if key is not None and key.callback_url else []
        return found[slot]
    slot = "agency:" + c.agency_id
    if slot not in found:
        found[slot] = uow.api_keys.callback_keys(c.agency_id)
    return found[slot]
