"""Retention and personal data: the purge (dry run, apply, never under 5 years), the citizen export (admin only,
audited), cross-agency isolation, and no personal data in webhook bodies or on the tracking page."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import drain
from tests.integration.test_reports import World, at, body, clean_extra


def snapshot(container) -> dict[str, dict]:
    with container.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM consignments ORDER BY id")).mappings().all()
    return {r["id"]: dict(r) for r in rows}


def set_phone(world: World, cid: str, e164: str) -> None:
    world.sql("UPDATE consignments SET citizen_phone = :p WHERE id = :id", p=e164, id=cid)


@pytest.fixture
def world(container, clock):
    """Old consignments (March 2026) in two agencies, driven to an end or not; five years later, recent ones."""
    clean_extra(container)
    clock._now = at(2026, 3, 2)
    w = World(container, clock)
    old_done = [
        w.create("HCC-HN", "return", "delivered", "00004"),
        w.create("HCC-HN", "return", "returned", "00070"),
        w.create("HCC-TQ", "return", "delivered", "02215"),
    ]
    old_cancelled = w.create("HCC-HN", "return", "delivered", "00235")
    assert w.call("HCC-HN", "POST", f"/api/v1/consignments/{old_cancelled}/cancel", json={}).status_code == 200
    old_complaint = w.create("HCC-HN", "return", "delivered", "00166")
    w.run(hours=5 * 24, every=12)
    # Old but still open: registered before the result exists, never finished.
    old_open = w.create("HCC-HN", "return", "delivered", "00004")
    w.sql("UPDATE consignments SET status = 'in_transit' WHERE id = :id", id=old_open)
    w.sql(
        "INSERT INTO complaints (id, consignment_id, complainant, opened_at, description, due_date) "
        "VALUES (:id, :c, 'citizen', :o, 'x', '2026-03-20')",
        id=str(uuid.uuid4()),
        c=old_complaint,
        o=at(2026, 3, 10),
    )
    clock._now = at(2031, 3, 10)  # five years and a week later
    recent = [w.create("HCC-HN", "return", "delivered", "00004"), w.create("HCC-TQ", "pickup", "delivered", "02215")]
    w.run(hours=2 * 24, every=12)
    # One citizen with consignments in both agencies, old and recent.
    citizen = "+84912345678"
    for cid in (old_done[0], old_done[2], recent[0], recent[1]):
        set_phone(w, cid, citizen)
    w.groups = {
        "old_done": old_done,
        "old_cancelled": [old_cancelled],
        "old_complaint": [old_complaint],
        "old_open": [old_open],
        "recent": recent,
    }
    w.citizen = citizen
    w.citizen_ids = {old_done[0], old_done[2], recent[0], recent[1]}
    yield w
    clean_extra(container)


def test_a_dry_run_counts_and_lists_without_changing_anything(world: World) -> None:
    from postal_bridge.services import privacy

    before = snapshot(world.container)
    report = privacy.purge(world.container.deps, older_than_years=5, dry_run=True)
    assert report.dry_run and report.erased == 0
    due = {*world.groups["old_done"], *world.groups["old_cancelled"]}
    assert {c.id for c in report.candidates} == due
    assert all(c.accepted_on.year == 2026 for c in report.candidates)
    assert snapshot(world.container) == before

    out = io.StringIO()
    assert privacy.purge_cli(world.container.deps, None, False, out=out) == 0
    assert out.getvalue().startswith(f"{len(due)} consignment(s) accepted before {report.accepted_before}")
    assert report.accepted_before.year == 2026
    assert "nothing changed" in out.getvalue()
    assert "0912" not in out.getvalue() and "Nguyễn" not in out.getvalue()
    assert snapshot(world.container) == before


def test_apply_erases_exactly_the_old_terminal_ones(world: World) -> None:
    from postal_bridge.services import privacy

    before = snapshot(world.container)
    with world.container.engine.connect() as conn:
        labelled = set(conn.execute(text("SELECT consignment_id FROM labels")).scalars())
    out = io.StringIO()
    assert privacy.purge_cli(world.container.deps, 5, True, out=out) == 0
    after = snapshot(world.container)
    due = {*world.groups["old_done"], *world.groups["old_cancelled"]}
    assert due & labelled  # the old delivered items had stored labels (name and address printed on them)
    for cid, row in after.items():
        old = before[cid]
        if cid in due:
            assert (row["citizen_name"], row["citizen_phone"], row["address_line"]) == ("", "", "")
            assert row["geo_lat"] is None and row["address_legacy_text"] is None
            assert row["personal_data_purged_at"] is not None
            for kept in ("ward_code", "province_code", "status", "dossier_code", "postage_vnd", "fee_vnd", "kind"):
                assert row[kept] == old[kept], kept
        else:
            assert row == old, cid
    with world.container.engine.connect() as conn:
        left = set(conn.execute(text("SELECT consignment_id FROM labels")).scalars())
        audit = conn.execute(text("SELECT action, details FROM audit_log")).all()
    assert not (left & due) and (labelled - due) <= left
    assert [a[0] for a in audit] == ["privacy.purge"]
    # The records are still readable, without the personal data.
    c = world.get(world.groups["old_done"][0])
    assert c["status"] == "delivered" and c["citizen"]["name"] == "" and c["citizen"]["address"]["ward_code"]
    # A second run finds nothing more.
    assert privacy.purge(world.container.deps, dry_run=False).count == 0


def test_less_than_five_years_is_refused(world: World, capsys) -> None:
    from postal_bridge.services import privacy

    before = snapshot(world.container)
    with pytest.raises(ValueError, match="older_than_years"):
        privacy.purge(world.container.deps, older_than_years=4, dry_run=False)
    assert privacy.purge_cli(world.container.deps, 1, True) == 2
    assert "older_than_years must be at least 5" in capsys.readouterr().err
    assert snapshot(world.container) == before
    # Longer is allowed: nothing is seven years old yet.
    assert privacy.purge(world.container.deps, older_than_years=7, dry_run=False).count == 0


def test_export_lists_every_consignment_of_the_phone_and_is_audited(world: World) -> None:
    resp = world.call("admin", "GET", "/api/v1/privacy/export?phone=0912 345 678")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    assert data["subject"]["phone"] == world.citizen
    assert {c["id"] for c in data["consignments"]} == world.citizen_ids
    assert {c["agency"]["code"] for c in data["consignments"]} == {"HCC-HN", "HCC-TQ"}
    assert all(c["citizen"]["phone"] == world.citizen for c in data["consignments"])
    assert all(c["citizen"]["address"]["line"] for c in data["consignments"])
    # The texts sent about each consignment are the citizen's data too (the number and what it said).
    assert all("booked" in {m["event"] for m in c["sms_messages"]} for c in data["consignments"])
    assert all(m["phone"].startswith("+84") and m["text"] for c in data["consignments"] for m in c["sms_messages"])
    assert all(c["delivery_outcomes"] == [] for c in data["consignments"])  # no clerk recorded one here

    posted = world.call("admin", "POST", "/api/v1/privacy/export", json={"phone": "+84 912 345 678"})
    assert posted.status_code == 200 and posted.get_json()["count"] == len(world.citizen_ids)

    with world.container.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, subject, details FROM audit_log ORDER BY id")).all()
    assert [r[1] for r in rows] == ["privacy.export", "privacy.export"]
    assert all(r[2].startswith("citizen:") and "912345678" not in r[2] for r in rows)
    details = rows[0][3] if isinstance(rows[0][3], dict) else json.loads(rows[0][3])
    assert set(details["consignment_ids"]) == world.citizen_ids
    assert details["phone_masked"] == "09xx xxx 678"
    assert "api_key:" in rows[0][0]


def test_export_needs_an_admin_key_and_a_valid_phone(world: World) -> None:
    for who in ("HCC-HN", "HCC-TQ"):
        assert world.call(who, "GET", "/api/v1/privacy/export?phone=0912345678").status_code == 403
    assert world.client.get("/api/v1/privacy/export?phone=0912345678").status_code == 401
    assert world.call("admin", "GET", "/api/v1/privacy/export?phone=12").status_code == 422
    with world.container.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log")).scalar() == 0
    # Another agency's consignment is not found through the normal API.
    theirs = world.groups["recent"][1]
    assert world.call("HCC-HN", "GET", f"/api/v1/consignments/{theirs}").status_code == 404
    assert world.call("HCC-HN", "POST", f"/api/v1/consignments/{theirs}/cancel", json={}).status_code == 404


def test_no_personal_data_in_webhook_bodies_or_on_the_tracking_page(container, clock) -> None:
    """A real consignment with a callback URL, delivered: the bodies the dossier system got and the citizen's page
    carry neither the full phone, nor the street line, nor the full name."""
    from postal_bridge.services import agencies, tracking
    from tests.fakes.dossier_system import FakeDossierSystem
    from tests.fakes.server import LoopbackServer
    from tests.integration.test_reports import make_app

    clean_extra(container)
    from tests.conftest import register_hanoi

    register_hanoi(container.deps)
    receiver = FakeDossierSystem(secrets=[], now=lambda: clock.now().timestamp())
    with LoopbackServer(receiver.app) as hook:
        issued = agencies.create_api_key(
            container.deps, agency_code="HCC-HN", name="one-stop", callback_url=f"{hook.url}/callbacks"
        )
        receiver.secrets.append(issued.webhook_secret)
        client = make_app(container).test_client()
        payload = body("return", "failed_then_delivered", "00004", "01", 77)
        payload["citizen"] |= {"name": "Trần Thị Bích Ngọc", "phone": "0987 654 321"}
        payload["citizen"]["address"]["line"] = "Số 45 ngõ 12 phố Đội Cấn"
        resp = client.post(
            "/api/v1/consignments",
            json=payload,
            headers={"Authorization": f"Bearer {issued.api_key}", "Idempotency-Key": "privacy-1"},
        )
        assert resp.status_code == 201
        drain(container)
        for _ in range(8):
            clock.advance(container.settings.sandbox_step_seconds + 1)
            tracking.poll_due(container.deps)
            drain(container)
        page = client.get("/t/" + resp.get_json()["tracking_url"].rsplit("/", 1)[1])
    assert page.status_code == 200 and "Đã phát thành công" in page.get_data(as_text=True)
    bodies = [d["raw_body"].decode("utf-8") for d in receiver.deliveries]
    assert len(receiver.events()) == 8  # requested … delivered, the failed attempt included
    forbidden = [
        "0987654321",
        "987654321",
        "0987 654 321",
        "+84987654321",
        "Số 45 ngõ 12",
        "Đội Cấn",
        "Trần Thị Bích Ngọc",
        "Bích Ngọc",
    ]
    for surface in [*bodies, page.get_data(as_text=True)]:
        for value in forbidden:
            assert value not in surface, value
    assert "Trần T. B. N." in page.get_data(as_text=True)  # the masked form is what the page shows


def test_dossier_snapshots_lose_their_personal_data_with_their_dossier(world: World) -> None:
    """The dossier system's snapshot is erased once it was last changed 5 years ago and no consignment of its
    dossier still holds personal data; a snapshot of a dossier with an open consignment, or a recent one, stays."""
    from postal_bridge.services import privacy
    from tests.integration.test_dossier_snapshots import snapshot_body

    def put(code: str, phone: str = "0912 345 678"):
        resp = world.call("HCC-HN", "PUT", f"/api/v1/dossiers/{code}", json=snapshot_body(code, citizen__phone=phone))
        assert resp.status_code == 201, resp.get_data(as_text=True)

    done_code = world.get(world.groups["old_done"][0])["dossier"]["code"]
    open_code = world.get(world.groups["old_open"][0])["dossier"]["code"]
    lonely_code = "000.00.12.H56-260302-9001"  # no consignment was ever asked for
    recent_code = "000.00.12.H56-310310-9002"
    now = world.clock._now
    world.clock._now = at(2026, 3, 2)
    for code in (done_code, open_code, lonely_code):
        put(code)
    world.clock._now = now
    put(recent_code)
    hn = world.container.deps.uow
    with hn() as uow:
        agency_id = uow.agencies.by_code("HCC-HN").id

    def rows() -> dict[str, dict]:
        with world.container.engine.connect() as conn:
            found = conn.execute(text("SELECT * FROM dossier_snapshots")).mappings().all()
        return {r["code"]: dict(r) for r in found}

    before = rows()
    dry = privacy.purge(world.container.deps, dry_run=True)
    assert set(dry.snapshots) == {(agency_id, done_code), (agency_id, lonely_code)}
    assert dry.snapshots_erased == 0 and rows() == before

    out = io.StringIO()
    assert privacy.purge_cli(world.container.deps, 5, True, out=out) == 0
    assert "2 dossier snapshot(s) from the dossier system: erased 2" in out.getvalue()
    after = rows()
    for code in (done_code, lonely_code):
        row = after[code]
        assert (row["citizen_name"], row["citizen_phone"], row["address_line"]) == ("", "", "")
        assert row["citizen_id_last4"] is None and row["personal_data_purged_at"] is not None
        for kept in ("ward_code", "province_code", "procedure_name", "appointment_date", "revision"):
            assert row[kept] == before[code][kept], kept
    for code in (open_code, recent_code):
        assert after[code] == before[code], code
    read = world.call("HCC-HN", "GET", f"/api/v1/dossiers/{lonely_code}").get_json()
    assert read["personal_data_purged"] is True and read["citizen"]["name"] == ""

    exported = world.call("admin", "POST", "/api/v1/privacy/export", json={"phone": "0912 345 678"}).get_json()
    assert {s["code"] for s in exported["dossier_snapshots"]} == {open_code, recent_code}
    assert privacy.purge(world.container.deps, dry_run=False).snapshots == []  # nothing more the second time
