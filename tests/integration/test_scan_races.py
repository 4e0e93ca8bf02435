"""Clerk scan uploads racing each other, on the real database (the World of ``test_clerks``)."""

from __future__ import annotations

from datetime import timedelta

from postal_bridge.domain.scans import ScanOutcome
from postal_bridge.storage import tables as t
from postal_bridge.storage.clerks import SqlScanRepository
from tests.integration import test_clerks as base
from tests.integration.test_clerks import World, _notifications, event

clock, world = base.clock, base.world  # the fixtures of test_clerks


def test_an_upload_racing_the_same_upload_replays_what_the_other_stored(world: World, monkeypatch) -> None:
    """The offline queue and the scan page can post the same events at once. The request whose read of the stored
    events came before the other's commit clashes on insert, rolls back and replays what the other stored."""
    w = world
    r1 = w.create()
    w.book(r1)
    w.hand_to_post(r1)
    now = w.clock.now()
    batch = [event(w.code(r1), now + timedelta(minutes=1), "arrive"), event("EB123456785VN", now, "arrive")]
    first = w.scan(w.clerk_hn, *batch)  # the other request, committed
    assert [r.outcome for r in first] == [ScanOutcome.ACCEPTED, ScanOutcome.UNKNOWN]
    counts = (w.count(t.scans), w.count(t.audit_log), len(w.get(r1).events), _notifications(w, r1))

    reads = []
    real = SqlScanRepository.by_event_ids

    def read_before_the_other_commit(self, user_id, event_ids):
        reads.append(list(event_ids))
        return {} if len(reads) == 1 else real(self, user_id, event_ids)

    monkeypatch.setattr(SqlScanRepository, "by_event_ids", read_before_the_other_commit)
    again = w.scan(w.clerk_hn, *batch)
    assert len(reads) == 2  # the clash was retried in a fresh transaction
    assert again == first
    assert (w.count(t.scans), w.count(t.audit_log), len(w.get(r1).events), _notifications(w, r1)) == counts
