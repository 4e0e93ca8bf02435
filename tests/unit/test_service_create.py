"""Agencies, API keys, authentication and the consignment commands (create, read, cancel), through in-memory fakes."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

import pytest

from postal_bridge.domain.carriers import CourierStatus
from postal_bridge.domain.errors import (
    Conflict,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    NotFound,
    PostalBridgeError,
    Unauthorized,
    ValidationFailed,
)
from postal_bridge.domain.model import IdempotencyRecord, OutboxKind, OutboxState
from postal_bridge.domain.status import Status
from postal_bridge.services import agencies, outbox
from postal_bridge.services.consignments import cancel_consignment, create_consignment, get_consignment
from postal_bridge.services.tracking import record_tracking_events
from tests.fakes.memory import (
    FakeCarrier,
    create,
    make_deps,
    render_json,
    return_command,
    seed_caller,
    store_of,
    tracking_event,
)

CALLBACK = "https://motcua.example.vn/hooks/postal"


# --------------------------------------------------------------------------------------------------------------------
# Agencies and keys


def test_register_agency_is_idempotent_by_code():
    deps = make_deps()
    first = agencies.register_agency(
        deps,
        code="ttpvhcc-tq",
        name="Trung tâm  Phục vụ hành chính công tỉnh Tuyên Quang",
        phone="0207 3822 111",
        line="Số 2 đường 17/8",
        ward_code="02215",
        province_code="08",
    )
    again = agencies.register_agency(
        deps, code="TTPVHCC-TQ", name="other", phone="x", line="y", ward_code="00004", province_code="01"
    )
    assert first.code == "TTPVHCC-TQ"
    assert first.phone == "+842073822111"
    assert first.name == "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang"
    assert again.id == first.id
    assert [a.code for a in agencies.list_agencies(deps)] == ["TTPVHCC-TQ"]


def test_register_agency_refuses_bad_phone_and_foreign_ward():
    deps = make_deps()
    with pytest.raises(ValidationFailed) as exc:
        agencies.register_agency(
            deps, code="X", name="X", phone="12345", line="Số 1", ward_code="02215", province_code="01"
        )
    assert set(exc.value.errors) == {"phone", "ward_code"}
    assert agencies.list_agencies(deps) == []


def test_create_api_key_and_authenticate():
    deps = make_deps()
    agencies.register_agency(
        deps, code="HN", name="Một cửa Ba Đình", phone="0912345678", line="Số 1", ward_code="00004", province_code="01"
    )
    issued = agencies.create_api_key(deps, agency_code="hn", name="dossier system", callback_url=CALLBACK)
    assert issued.api_key.startswith("pb_")
    assert issued.webhook_secret.startswith("whsec_")
    assert issued.key.key_hash == agencies.hash_key(issued.api_key)
    assert issued.key.callback_url == CALLBACK
    assert issued.api_key not in repr(store_of(deps).rows("api_keys"))  # only the hash is stored

    caller = agencies.authenticate(deps, issued.api_key)
    assert caller.key.id == issued.key.id
    assert caller.agency.code == "HN"


def test_create_api_key_for_unknown_agency_is_not_found():
    deps = make_deps()
    with pytest.raises(NotFound):
        agencies.create_api_key(deps, agency_code="NOPE", name="x")


@pytest.mark.parametrize("raw", [None, "", "pb_unknown-key"])
def test_authenticate_missing_or_unknown_key(raw):
    deps = make_deps()
    seed_caller(deps)
    with pytest.raises(Unauthorized):
        agencies.authenticate(deps, raw)


def test_authenticate_revoked_key():
    deps = make_deps()
    agencies.register_agency(
        deps, code="HN", name="Một cửa", phone="0912345678", line="Số 1", ward_code="00004", province_code="01"
    )
    issued = agencies.create_api_key(deps, agency_code="HN", name="k")
    with deps.uow() as uow:
        uow.api_keys.revoke(issued.key.id, deps.clock.now())
        uow.commit()
    with pytest.raises(Unauthorized):
        agencies.authenticate(deps, issued.api_key)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://127.0.0.1/cb", None),
        ("http://10.0.0.1:8080/cb", None),
        ("http://169.254.169.254/latest/meta-data/", None),
        ("http://[::1]/cb", None),
        ("https://internal.example.vn/cb", ["127.0.0.1"]),
        ("https://mixed.example.vn/cb", ["93.184.216.34", "10.1.2.3"]),
    ],
)
def test_callback_url_to_private_addresses_is_refused(url, resolved):
    deps = make_deps(resolve_host=(lambda h: resolved) if resolved else (lambda h: ["93.184.216.34"]))
    agencies.register_agency(
        deps, code="HN", name="Một cửa", phone="0912345678", line="Số 1", ward_code="00004", province_code="01"
    )
    with pytest.raises(ValidationFailed) as exc:
        agencies.create_api_key(deps, agency_code="HN", name="k", callback_url=url)
    assert list(exc.value.errors) == ["callback_url"]
    assert store_of(deps).rows("api_keys") == []


@pytest.mark.parametrize(
    "url", ["ftp://example.vn/x", "/relative/path", "https://user:pw@example.vn/cb", "https:///no-host"]
)
def test_callback_url_must_be_plain_absolute_http(url):
    deps = make_deps()
    seed_caller(deps)
    with pytest.raises(ValidationFailed) as exc:
        agencies.create_api_key(deps, agency_code="TTPVHCC-HN", name="k2", callback_url=url)
    assert list(exc.value.errors) == ["callback_url"]


def test_callback_host_that_does_not_resolve_is_refused():
    def resolve(host):
        raise OSError("NXDOMAIN")

    deps = make_deps(resolve_host=resolve)
    agencies.register_agency(
        deps, code="HN", name="Một cửa", phone="0912345678", line="Số 1", ward_code="00004", province_code="01"
    )
    with pytest.raises(ValidationFailed):
        agencies.create_api_key(deps, agency_code="HN", name="k", callback_url="https://nowhere.example.vn/cb")


@pytest.mark.parametrize("url", ["http://127.0.0.1:5001/cb", "http://10.0.0.1/cb", "http://169.254.169.254/"])
def test_private_callback_allowed_when_configured(url):
    deps = make_deps(allow_private_callbacks=True, resolve_host=lambda h: ["127.0.0.1"])
    caller = seed_caller(deps, callback_url=url)
    assert caller.key.callback_url == url


# --------------------------------------------------------------------------------------------------------------------
# Create


def test_create_valid_return_stores_everything_in_one_go():
    deps = make_deps()
    caller = seed_caller(deps)
    store = store_of(deps)

    res = create(deps, caller, key="key-1")

    assert res.status == 201
    assert res.replayed is False
    (c,) = store.consignments()
    assert json.loads(res.body) == {"id": c.id, "status": "requested", "tracking_token": c.tracking_token}
    assert c.status == Status.REQUESTED
    assert c.agency_id == caller.agency.id
    assert c.api_key_id == caller.key.id
    assert c.dossier.code == "000.00.01.H56-250701-0001"
    assert c.citizen.phone.e164 == "+84912345678"
    assert [(e.seq, e.status, e.previous_status) for e in c.events] == [(1, Status.REQUESTED, None)]

    (record,) = store.idempotency_records()
    assert (record.state, record.response_status, record.response_body, record.resource_id) == (
        "done",
        201,
        res.body,
        c.id,
    )

    items = store.outbox_items()
    assert [(i.kind, i.consignment_id, i.state) for i in items] == [(OutboxKind.BOOK, c.id, OutboxState.PENDING)]
    assert items[0].next_attempt_at == deps.clock.now()
    assert deps.jobs.outbox_ids == [items[0].id]


def test_create_with_callback_also_queues_the_dossier_notification():
    deps = make_deps()
    caller = seed_caller(deps, callback_url=CALLBACK)
    store = store_of(deps)

    create(deps, caller)

    (c,) = store.consignments()
    items = store.outbox_items()
    assert sorted(i.kind for i in items) == sorted([OutboxKind.BOOK, OutboxKind.NOTIFY_DOSSIER])
    (notify,) = store.outbox_items(kind=OutboxKind.NOTIFY_DOSSIER)
    assert notify.ordering_key == f"webhook:{c.id}"
    assert notify.payload["api_key_id"] == caller.key.id
    assert notify.payload["message_id"].startswith("msg_")
    body = json.loads(notify.payload["body"])
    assert body["type"] == "consignment.status_changed"
    assert body["data"]["consignment_id"] == c.id
    assert body["data"]["status"] == "requested"
    assert body["data"]["previous_status"] is None
    assert "Nguyễn" not in notify.payload["body"]  # no personal data in callbacks
    assert sorted(deps.jobs.outbox_ids) == sorted(i.id for i in items)


def test_a_consignment_made_at_the_counter_reports_to_the_agencys_dossier_system():
    """A person has no callback URL of their own: the agency's dossier-system keys hear of what they create."""
    from datetime import UTC, datetime

    from postal_bridge.domain.model import Role, User
    from postal_bridge.services.agencies import Caller

    deps = make_deps()
    system = seed_caller(deps, callback_url=CALLBACK)
    quiet = agencies.create_api_key(deps, agency_code=system.agency.code, name="no callback")
    assert quiet.key.callback_url is None
    person = Caller(
        agency=system.agency,
        user=User(
            id="u-1",
            username="hoa",
            full_name="Nguyễn Thị Hoa",
            role=Role.COUNTER,
            password_hash="x",
            created_at=datetime.now(UTC),
            agency_id=system.agency.id,
        ),
    )
    store = store_of(deps)

    create(deps, person, key="form-1")

    (c,) = store.consignments()
    assert c.api_key_id is None
    assert c.events[0].actor == "user:hoa"
    (notify,) = store.outbox_items(kind=OutboxKind.NOTIFY_DOSSIER)
    assert notify.payload["api_key_id"] == system.key.id
    assert store.idempotency_records()[0].principal_id == "user:u-1"


def test_same_key_same_fingerprint_replays_the_stored_response():
    deps = make_deps()
    caller = seed_caller(deps, callback_url=CALLBACK)
    store = store_of(deps)
    first = create(deps, caller, key="k", fingerprint="fp")
    outbox_before = store.outbox_items()
    deps.jobs.clear()

    deps.clock.advance(seconds=3600)
    second = create(deps, caller, key="k", fingerprint="fp")

    assert second.replayed is True
    assert (second.status, second.body) == (201, first.body)
    assert len(store.consignments()) == 1
    assert store.outbox_items() == outbox_before
    assert deps.jobs.outbox_ids == []


def test_same_key_is_scoped_per_api_key():
    deps = make_deps()
    a = seed_caller(deps)
    b = seed_caller(deps, agency_code="TTPVHCC-TQ", agency_name="Một cửa Tuyên Quang")
    create(deps, a, key="shared", fingerprint="fp")
    res = create(deps, b, key="shared", fingerprint="fp")
    assert res.replayed is False
    assert len(store_of(deps).consignments()) == 2


def test_same_key_other_fingerprint_is_refused():
    deps = make_deps()
    caller = seed_caller(deps)
    create(deps, caller, key="k", fingerprint="fp-a")
    with pytest.raises(IdempotencyKeyReused):
        create(deps, caller, return_command(weight_g=999), key="k", fingerprint="fp-b")
    assert len(store_of(deps).consignments()) == 1


def _claim_in_progress(deps, caller, key: str, fingerprint: str = "fp") -> None:
    """Another request with this key is in flight (its claim is committed, its transaction not yet)."""
    with deps.uow() as uow:
        assert uow.idempotency.insert(
            IdempotencyRecord(principal_id=caller.key.id, key=key, fingerprint=fingerprint, created_at=deps.clock.now())
        )
        uow.commit()


def test_key_in_progress_is_refused_until_stale_then_taken_over():
    deps = make_deps()
    caller = seed_caller(deps)
    store = store_of(deps)
    _claim_in_progress(deps, caller, "k")

    with pytest.raises(IdempotencyKeyInUse):
        create(deps, caller, key="k", fingerprint="fp")
    deps.clock.advance(seconds=deps.idempotency_stale_seconds)
    with pytest.raises(IdempotencyKeyInUse):  # exactly at the limit it is not yet stale
        create(deps, caller, key="k", fingerprint="fp")
    assert store.consignments() == []

    deps.clock.advance(seconds=1)
    res = create(deps, caller, key="k", fingerprint="fp")

    assert res.status == 201 and res.replayed is False
    assert len(store.consignments()) == 1
    (record,) = store.idempotency_records()
    assert record.state == "done"
    assert record.created_at == deps.clock.now()


def test_key_in_progress_with_other_fingerprint_is_reused_not_in_use():
    deps = make_deps()
    caller = seed_caller(deps)
    _claim_in_progress(deps, caller, "k", fingerprint="other")
    with pytest.raises(IdempotencyKeyReused):
        create(deps, caller, key="k", fingerprint="fp")


def _nested_get(errors: dict, path: str):
    node = errors
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"{path} not in {errors}"
        node = node[part]
    return node


def _deps_with_sandbox():
    return make_deps(carriers={"fake": FakeCarrier(), "sandbox": FakeCarrier(code="sandbox", name="Sandbox")})


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"citizen_phone": "0123"}, "citizen.phone"),
        ({"citizen_phone": "01234567890"}, "citizen.phone"),  # old 11-digit mobile
        ({"ward_code": "99999"}, "citizen.address.ward_code"),
        ({"ward_code": "02215", "province_code": "01"}, "citizen.address.ward_code"),  # Tuyên Quang ward, Hà Nội
        ({"ward_code": "4"}, "citizen.address.ward_code"),
        ({"province_code": "1"}, "citizen.address.province_code"),
        ({"address_line": "   "}, "citizen.address.line"),
        ({"citizen_name": "  "}, "citizen.name"),
        ({"carrier": "ghost"}, "carrier"),
        ({"service": "overnight"}, "service"),
        ({"kind": "teleport"}, "kind"),
        ({"dossier_code": None}, "dossier.code"),
        ({"dossier_code": "!"}, "dossier.code"),
        ({"weight_g": 0}, "parcel.weight_g"),
        ({"weight_g": 30_001}, "parcel.weight_g"),
        ({"options": {"sandbox_scenario": "returned"}}, "options.sandbox_scenario"),  # not the sandbox carrier
        ({"carrier": "sandbox", "options": {"sandbox_scenario": "explodes"}}, "options.sandbox_scenario"),
    ],
)
def test_invalid_input_names_the_field_and_stores_nothing(overrides, path):
    deps = _deps_with_sandbox()
    caller = seed_caller(deps)
    store = store_of(deps)
    outbox_before = store.outbox_items()

    with pytest.raises(ValidationFailed) as exc:
        create(deps, caller, return_command(**overrides), key="k")

    messages = _nested_get(exc.value.errors, path)
    assert isinstance(messages, list) and messages and all(isinstance(m, str) and m for m in messages)
    assert store.consignments() == []
    assert store.idempotency_records() == []
    assert store.outbox_items() == outbox_before == []
    assert deps.jobs.outbox_ids == []


def test_every_invalid_field_is_reported_at_once():
    deps = make_deps()
    caller = seed_caller(deps)
    cmd = return_command(
        citizen_phone="abc", ward_code="02215", province_code="01", carrier="ghost", dossier_code=None, weight_g=0
    )
    with pytest.raises(ValidationFailed) as exc:
        create(deps, caller, cmd)
    errors = exc.value.errors
    assert set(errors) == {"carrier", "dossier", "citizen", "parcel"}
    assert set(errors["citizen"]) == {"phone", "address"}
    assert set(errors["citizen"]["address"]) == {"ward_code"}
    assert "02215" in errors["citizen"]["address"]["ward_code"][0]
    assert set(errors["dossier"]) == {"code"}
    assert set(errors["parcel"]) == {"weight_g"}


def test_valid_sandbox_scenario_and_pickup_without_dossier_code_are_accepted():
    deps = _deps_with_sandbox()
    caller = seed_caller(deps)
    create(deps, caller, return_command(carrier="sandbox", options={"sandbox_scenario": "failed_then_delivered"}))
    create(deps, caller, return_command(kind="pickup", dossier_code=None))
    kinds = sorted((c.kind.value, c.dossier.code is None) for c in store_of(deps).consignments())
    assert kinds == [("pickup", True), ("return", False)]


def test_failure_inside_the_transaction_releases_the_key():
    deps = make_deps()
    caller = seed_caller(deps, callback_url=CALLBACK)
    store = store_of(deps)

    def broken(c):
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        create_consignment(deps, caller, return_command(), idempotency_key="k", fingerprint="fp", render=broken)

    assert store.idempotency_records() == []
    assert store.consignments() == []
    assert store.outbox_items() == []
    assert deps.jobs.outbox_ids == []

    res = create(deps, caller, key="k", fingerprint="fp", render=render_json)  # the client's retry goes through
    assert res.status == 201 and res.replayed is False
    assert len(store.consignments()) == 1


# --------------------------------------------------------------------------------------------------------------------
# Read


def test_get_consignment_of_another_agency_is_not_found():
    deps = make_deps()
    owner = seed_caller(deps)
    other = seed_caller(deps, agency_code="TTPVHCC-TQ", agency_name="Một cửa Tuyên Quang")
    cid = json.loads(create(deps, owner).body)["id"]

    assert get_consignment(deps, owner, cid).id == cid
    with pytest.raises(NotFound):
        get_consignment(deps, other, cid)
    with pytest.raises(NotFound):
        get_consignment(deps, owner, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        cancel_consignment(deps, other, cid, reason=None)
    assert get_consignment(deps, owner, cid).status == Status.REQUESTED


# --------------------------------------------------------------------------------------------------------------------
# Cancel


def _book(deps, cid: str) -> None:
    (book,) = store_of(deps).outbox_items(kind=OutboxKind.BOOK, consignment_id=cid)
    assert outbox.process(deps, book.id) == "done"
    assert store_of(deps).consignment(cid).status == Status.BOOKED


def test_cancel_before_booking_needs_no_courier():
    deps = make_deps()
    caller = seed_caller(deps, callback_url=CALLBACK)
    store = store_of(deps)
    cid = json.loads(create(deps, caller).body)["id"]
    deps.jobs.clear()

    c = cancel_consignment(deps, caller, cid, reason="Công dân tự đến nhận")

    assert c.status == Status.CANCELLED
    stored = store.consignment(cid)
    assert stored.status == Status.CANCELLED
    assert [e.status for e in stored.events] == [Status.REQUESTED, Status.CANCELLED]
    assert stored.events[-1].description == "Công dân tự đến nhận"
    assert store.outbox_items(kind=OutboxKind.CANCEL_WITH_CARRIER) == []
    notifies = store.outbox_items(kind=OutboxKind.NOTIFY_DOSSIER)
    assert [json.loads(n.payload["body"])["data"]["status"] for n in notifies] == ["requested", "cancelled"]
    assert deps.jobs.outbox_ids == [notifies[-1].id]

    # The pending BOOK then finds nothing to do, and the courier never hears of it.
    (book,) = store.outbox_items(kind=OutboxKind.BOOK)
    assert outbox.process(deps, book.id) == "done"
    assert deps.carriers["fake"].orders == {}

    # Cancelling twice is harmless.
    assert cancel_consignment(deps, caller, cid, reason=None).status == Status.CANCELLED
    assert len(store.consignment(cid).events) == 2


def test_cancel_after_booking_tells_the_courier():
    deps = make_deps()
    caller = seed_caller(deps)
    store = store_of(deps)
    cid = json.loads(create(deps, caller).body)["id"]
    _book(deps, cid)
    courier = deps.carriers["fake"]
    order = courier.only_order()
    deps.jobs.clear()

    c = cancel_consignment(deps, caller, cid, reason=None)

    assert c.status == Status.CANCELLED
    (item,) = store.outbox_items(kind=OutboxKind.CANCEL_WITH_CARRIER)
    assert item.consignment_id == cid
    assert item.payload == {"carrier": "fake", "carrier_ref": order.result.carrier_internal_id}
    assert item.id in deps.jobs.outbox_ids

    assert outbox.process(deps, item.id) == "done"
    assert order.cancelled is True


def test_cancel_after_pickup_is_a_conflict():
    deps = make_deps()
    caller = seed_caller(deps)
    store = store_of(deps)
    cid = json.loads(create(deps, caller).body)["id"]
    _book(deps, cid)
    c = store.consignment(cid)
    deps.clock.advance(minutes=30)
    event = tracking_event(c.carrier_ref, CourierStatus.PICKED_UP, deps.clock.now())
    assert record_tracking_events(deps, cid, [event]) == 1
    before = store.consignment(cid)

    with pytest.raises(Conflict):
        cancel_consignment(deps, caller, cid, reason=None)

    after = store.consignment(cid)
    assert after.status == Status.PICKED_UP
    assert after.version == before.version
    assert store.outbox_items(kind=OutboxKind.CANCEL_WITH_CARRIER) == []


def test_stale_version_is_not_overwritten():
    """Two transactions load the same consignment; the second save must fail, not silently overwrite."""
    deps = make_deps()
    caller = seed_caller(deps)
    cid = json.loads(create(deps, caller).body)["id"]
    now = deps.clock.now() + timedelta(seconds=1)
    with deps.uow() as a, deps.uow() as b:
        ca = a.consignments.get(cid)
        cb = b.consignments.get(cid)
        ca.cancel(occurred_at=now, actor="a")
        a.consignments.save(ca)
        a.commit()
        cb.mark_booking_failed(reason="b", occurred_at=now)
        with pytest.raises(Conflict):
            b.consignments.save(cb)
    assert store_of(deps).consignment(cid).status == Status.CANCELLED


def test_original_request_finishing_after_a_take_over_does_not_store_a_second_consignment():
    """A request stalls past the stale limit, the client's retry takes the key over and succeeds; when the stalled
    request finally reaches its commit it no longer owns the key and must not store a second consignment."""
    deps = make_deps()
    caller = seed_caller(deps)
    store = store_of(deps)
    retries = []

    def stalled_render(c):
        deps.clock.advance(seconds=deps.idempotency_stale_seconds + 1)
        retries.append(create(deps, caller, key="k", fingerprint="fp"))
        return render_json(c)

    with contextlib.suppress(PostalBridgeError):  # refusing the stalled request is the right outcome
        create_consignment(deps, caller, return_command(), idempotency_key="k", fingerprint="fp", render=stalled_render)

    (retry,) = retries
    assert retry.status == 201 and retry.replayed is False
    consignments = store.consignments()
    assert len(consignments) == 1, "one Idempotency-Key produced two consignments (two courier orders)"
    (record,) = store.idempotency_records()
    assert record.resource_id == consignments[0].id
    assert len(store.outbox_items(kind=OutboxKind.BOOK)) == 1


def test_a_create_that_fails_midway_leaves_neither_consignment_nor_key_behind():
    """The key is stored in the consignment's own transaction: a failure before the commit stores neither, so the
    client's retry with the same key is a fresh create (201), not a 409 for a claim nobody completes."""
    deps = make_deps()
    caller = seed_caller(deps)

    def broken(_c):
        raise RuntimeError("the response could not be rendered")

    with pytest.raises(RuntimeError):
        create_consignment(deps, caller, return_command(), idempotency_key="k", fingerprint="fp", render=broken)
    assert store_of(deps).consignments() == [] and store_of(deps).idempotency_records() == []
    res = create(deps, caller, key="k", fingerprint="fp")
    assert res.status == 201 and res.replayed is False
    assert len(store_of(deps).consignments()) == 1
