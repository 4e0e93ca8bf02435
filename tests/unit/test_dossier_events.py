"""Which dossier-system event applies to which consignment, and what it does (pure domain rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.consignment import Consignment, DossierLink, Parcel
from postal_bridge.domain.dossier_events import (
    Action,
    DossierEvent,
    DossierEventCommand,
    DossierEventType,
    apply_outcome,
    apply_redate,
    apply_result_ready,
    cancel_description,
    plan,
    validate,
)
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.status import CANCELLABLE, TERMINAL, Kind, Status

T, A, S = DossierEventType, Action, Status
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
IN_CUSTODY = {
    S.PICKED_UP,
    S.IN_TRANSIT,
    S.OUT_FOR_DELIVERY,
    S.DELIVERY_FAILED,
    S.AVAILABLE_FOR_PICKUP,
    S.RETURNING_TO_AGENCY,
}


def _consignment(kind: Kind = Kind.RETURN, initial: Status = S.AWAITING_RESULT) -> Consignment:
    return Consignment.register(
        initial=initial,
        occurred_at=NOW - timedelta(days=3),
        actor="test",
        id="c-1",
        agency_id="a-1",
        kind=kind,
        carrier="sandbox",
        service="standard",
        dossier=DossierLink(code="000.00.12.H56-261115-0007", appointment_date=date(2026, 11, 25)),
        citizen=Party(name="Nguyễn Thị Hằng", phone=Phone("+84912345678"), address=Address("Số 12", "00004", "01")),
        parcel=Parcel(weight_g=250, contents="Kết quả"),
        tracking_token="tok",
    )


@pytest.mark.parametrize("status", list(Status))
def test_result_ready_books_only_returns_awaiting_their_result(status: Status) -> None:
    expected = A.BOOKING_STARTED if status == S.AWAITING_RESULT else A.NONE
    assert plan(T.RESULT_READY, Kind.RETURN, status) == expected
    assert plan(T.RESULT_READY, Kind.PICKUP, status) == A.NONE
    assert plan(T.RESULT_READY, Kind.TRANSFER, status) == A.NONE


@pytest.mark.parametrize("event", [T.WITHDRAWN, T.COLLECTED_AT_COUNTER])
@pytest.mark.parametrize("status", list(Status))
def test_withdrawal_cancels_returns_until_the_post_has_them(event: DossierEventType, status: Status) -> None:
    action = plan(event, Kind.RETURN, status)
    if status == S.CANCELLED:
        assert action == A.NONE
    elif status in CANCELLABLE:
        assert action == A.CANCELLED
    elif status in IN_CUSTODY:
        assert action == A.CANNOT_CANCEL
    else:
        assert status in TERMINAL and action == A.NONE
    assert plan(event, Kind.PICKUP, status) == A.NONE  # the dossier's pickups are not the return


@pytest.mark.parametrize("event", [T.SUPPLEMENT_REQUIRED, T.REJECTED])
@pytest.mark.parametrize("status", list(Status))
def test_agency_outcomes_concern_pickups(event: DossierEventType, status: Status) -> None:
    action = plan(event, Kind.PICKUP, status)
    if status == S.DELIVERED:
        assert action == A.OUTCOME_SET
    elif status in TERMINAL:
        assert action == A.NONE
    else:
        assert action == A.RECORDED  # stored for when the dossier reaches the agency
    assert plan(event, Kind.RETURN, status) == A.NONE


@pytest.mark.parametrize("status", list(Status))
def test_redating_skips_closed_consignments(status: Status) -> None:
    assert plan(T.APPOINTMENT_CHANGED, Kind.RETURN, status) == (A.NONE if status in TERMINAL else A.REDATED)


def test_validation_names_each_bad_field() -> None:
    ok = dict(appointment_date=None, occurred_at=None, return_paper_dossier=False, reason=None, now=NOW)
    assert validate("result_ready", **ok) == {}
    assert "type" in validate("result_readdy", **ok)
    assert "appointment_date" in validate("appointment_changed", **ok)
    assert validate("appointment_changed", **{**ok, "appointment_date": date(2026, 12, 1)}) == {}
    assert "occurred_at" in validate("withdrawn", **{**ok, "occurred_at": NOW + timedelta(hours=1)})
    assert "occurred_at" in validate("withdrawn", **{**ok, "occurred_at": datetime(2026, 11, 20, 9)})
    assert validate("withdrawn", **{**ok, "occurred_at": NOW - timedelta(hours=1)}) == {}
    assert "return_paper_dossier" in validate("supplement_required", **{**ok, "return_paper_dossier": True})
    assert validate("rejected", **{**ok, "return_paper_dossier": True}) == {}
    assert "reason" in validate("rejected", **{**ok, "reason": "x" * 1001})


def test_result_ready_moves_to_requested_with_an_event() -> None:
    c = _consignment()
    ready = NOW - timedelta(minutes=10)
    apply_result_ready(c, now=NOW, ready_at=ready, actor="api_key:pb_x")
    assert c.status == S.REQUESTED and c.result_ready_at == ready
    assert [(e.previous_status, e.status) for e in c.new_events][-1] == (S.AWAITING_RESULT, S.REQUESTED)
    assert "status 9" in (c.events[-1].description or "")


def test_redate_replaces_the_frozen_dossier_link_and_counts_as_a_change() -> None:
    c = _consignment()
    version, events = c.version, len(c.events)
    assert apply_redate(c, date(2026, 12, 2))
    assert c.dossier.appointment_date == date(2026, 12, 2) and c.dossier.code == "000.00.12.H56-261115-0007"
    assert c.version == version + 1 and len(c.events) == events  # no status change
    assert not apply_redate(c, date(2026, 12, 2))
    assert c.version == version + 1


def test_outcome_is_recorded_without_a_status_change() -> None:
    c = _consignment(Kind.PICKUP, S.REQUESTED)
    events = len(c.events)
    apply_outcome(c, T.SUPPLEMENT_REQUIRED, at=NOW)
    assert (c.agency_outcome, c.agency_outcome_at, c.status) == ("supplement_required", NOW, S.REQUESTED)
    assert len(c.events) == events


def test_cancel_descriptions_say_why() -> None:
    assert "counter" in cancel_description(T.COLLECTED_AT_COUNTER, None)
    assert cancel_description(T.WITHDRAWN, "đổi ý").endswith(": đổi ý")
    assert "status 7" in cancel_description(T.WITHDRAWN, None)


def test_stored_event_answers_with_its_id_and_what_it_did() -> None:
    cmd = DossierEventCommand(type="appointment_changed", appointment_date=date(2026, 12, 2))
    assert cmd.as_payload()["appointment_date"] == "2026-12-02"
    applied = [{"consignment_id": "c-1", "action": "redated"}]
    e = DossierEvent("a-1", "X", "appointment_changed", {"applied_to": applied}, NOW, "api_key:pb", id=7)
    assert e.answer == {"event_id": 7, "type": "appointment_changed", "applied_to": applied}
    assert e.idempotency_key is None
