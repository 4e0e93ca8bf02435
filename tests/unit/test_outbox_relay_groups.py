"""The relay leaves out callbacks waiting behind an earlier one of their consignment.

Relaying them every round woke jobs that could only skip; under a burst of courier events the wake-ups crowded the
outbox queue so much that the tracking queue behind it starved (seen in tests/e2e/test_production_shape.py).
"""

from __future__ import annotations

import json

from postal_bridge.domain.model import OutboxKind
from postal_bridge.services import outbox
from postal_bridge.services.consignments import cancel_consignment
from tests.fakes.memory import create, make_deps, seed_caller, store_of


def test_the_relay_wakes_a_waiting_callback_only_once_the_one_before_it_settles():
    deps = make_deps()
    caller = seed_caller(deps, callback_url="https://motcua.example.vn/hooks/postal")
    cid = json.loads(create(deps, caller).body)["id"]
    cancel_consignment(deps, caller, cid, reason=None)
    first, second = (i.id for i in store_of(deps).outbox_items(kind=OutboxKind.NOTIFY_DOSSIER))
    deps.jobs.clear()

    outbox.relay_due(deps)
    assert first in deps.jobs.outbox_ids and second not in deps.jobs.outbox_ids

    assert outbox.process(deps, first) == "done"
    deps.jobs.clear()
    outbox.relay_due(deps)  # as after a lost wake-up: the relay finds it now
    assert second in deps.jobs.outbox_ids
