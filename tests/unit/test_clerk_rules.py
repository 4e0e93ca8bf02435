"""The postal clerk's rules as pure functions: codes, scan modes, outcomes and reasons, sessions, worklist piles.

The expected tables are written out by hand from reference/domain.md §2.7, §8.2–8.3 and engineering.md §7, not
computed from the code's tables, so an accidental change to a rule makes a test fail.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest

from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.consignment import Consignment, DossierLink, Parcel, Source
from postal_bridge.domain.handover_sessions import (
    MOVES,
    SessionItem,
    movable_statuses,
    move_target,
    new_session_id,
    tally,
    why_not_movable,
)
from postal_bridge.domain.model import HandoverDirection
from postal_bridge.domain.outcomes import (
    FAILURE_REASONS,
    RETURN_REASON_LABELS_VI,
    IdCheck,
    IdType,
    check_citizen_id,
    failed_attempts,
    id_last_digits,
    reasons_for,
    set_citizen_id,
)
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.scans import (
    MAX_CLOCK_AHEAD,
    CodeError,
    ScanInput,
    ScanMode,
    ScanOutcome,
    canonical_event_id,
    decide,
    parse_code,
    scan_problem,
)
from postal_bridge.domain.status import TRANSITIONS, Kind, Status
from postal_bridge.domain.worklist import Pile, invitations, next_actions, pile_of

S = Status
K = Kind
M = ScanMode
R = ScanOutcome

# ------------------------------------------------------------------------------------------------------ codes


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("EB123456785VN", "s10", "EB123456785VN"),
        ("eb123456785vn", "s10", "EB123456785VN"),
        ("EB 123 456 785 VN", "s10", "EB123456785VN"),
        ("EB123456785VN\r\n", "s10", "EB123456785VN"),  # a wedge scanner's Enter suffix
        ("\tEB123456785VN\t", "s10", "EB123456785VN"),
        ("https://pb.example.vn/t/Ab_cD-12345#EB123456785VN", "s10", "EB123456785VN"),
        ("http://127.0.0.1:8000/t/Ab_cD-12345#eb 123 456 785 vn", "s10", "EB123456785VN"),
        ("https://pb.example.vn/t/Ab_cD-12345", "token", "Ab_cD-12345"),
        ("https://pb.example.vn/t/Ab_cD-12345/", "token", "Ab_cD-12345"),
        ("https://pb.example.vn/t/Ab_cD-12345?utm=sms", "token", "Ab_cD-12345"),
        ("https://pb.example.vn/t/Ab_cD-12345#", "token", "Ab_cD-12345"),
        ("LB7TXQ9K", "tracking", "LB7TXQ9K"),  # GHN
        ("S22603880.MB14.A1.1234567", "tracking", "S22603880.MB14.A1.1234567"),  # GHTK label
        ("1234567890123", "tracking", "1234567890123"),  # Viettel Post
        ("ghn-lb7txq9k", "tracking", "GHN-LB7TXQ9K"),
    ],
)
def test_codes_are_read_from_every_form_a_scanner_yields(text: str, kind: str, value: str) -> None:
    parsed = parse_code(text)
    assert (parsed.kind, parsed.value) == (kind, value)


def test_a_couriers_code_is_looked_up_as_printed_and_upper_case() -> None:
    assert parse_code("lb7txq9k").forms == ("LB7TXQ9K", "lb7txq9k")
    assert parse_code("EB123456785VN").forms == ("EB123456785VN",)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("EB123456784VN", "Sai số kiểm tra"),  # check digit 5, not 4
        ("EB 123 456 786 VN", "Sai số kiểm tra"),
        ("https://pb.example.vn/t/Ab_cD-12345#EB123456780VN", "Sai số kiểm tra"),
        ("", "trống"),
        ("   ", "trống"),
        ("xin chao ban", "Không phải mã"),
        ("ABCDEFGH", "Không phải mã"),  # no digit: a word, not a code
        ("12345", "Không phải mã"),  # too short
        ("MÃ123456", "không dấu"),
        ("https://example.com/page", "không phải mã"),
        ("https://pb.example.vn/t/bad token!", "không hợp lệ"),
        ("A" * 600, "quá dài"),
    ],
)
def test_bad_codes_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(CodeError) as exc:
        parse_code(text)
    assert why.lower() in str(exc.value).lower()


def test_event_ids_are_uuids_in_canonical_form() -> None:
    assert canonical_event_id("6F9619FF-8B86-D011-B42D-00C04FC964FF") == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    for bad in ("", "  ", "abc", None, 42, "6f9619ff-8b86-d011-b42d"):
        assert canonical_event_id(bad) is None


NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _scan(**over) -> ScanInput:
    base = {"client_event_id": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "code": "EB123456785VN"}
    base.update({"scanned_at": NOW, "mode": "arrive", **over})
    return ScanInput(**base)


def test_a_scans_shape_is_checked_before_its_code() -> None:
    assert scan_problem(_scan(), now=NOW) is None
    assert scan_problem(_scan(scanned_at=NOW + MAX_CLOCK_AHEAD), now=NOW) is None  # 5 minutes ahead: tolerated
    assert scan_problem(_scan(scanned_at=NOW - timedelta(days=3)), now=NOW) is None  # offline for days: fine
    ahead = scan_problem(_scan(scanned_at=NOW + MAX_CLOCK_AHEAD + timedelta(seconds=1)), now=NOW)
    assert ahead is not None and ahead[0] == R.FUTURE_TIME and "đồng hồ" in ahead[1]
    naive = scan_problem(_scan(scanned_at=datetime(2026, 3, 2, 8, 0)), now=NOW)
    assert naive is not None and naive[0] == R.INVALID
    assert scan_problem(_scan(scanned_at="2026-03-02T08:00:00Z"), now=NOW)[0] == R.INVALID
    assert scan_problem(_scan(mode="teleport"), now=NOW)[0] == R.INVALID
    assert scan_problem(_scan(mode="handover"), now=NOW)[0] == R.INVALID  # a handover scan needs its session
    assert scan_problem(_scan(mode="handover", session_id="BG-260302-ABCDEF"), now=NOW) is None
    assert scan_problem(_scan(mode="handover", session_id=42), now=NOW)[0] == R.INVALID
    assert scan_problem(_scan(mode="handover", session_id="B" * 41), now=NOW)[0] == R.INVALID


# ------------------------------------------------------------------------------------------ mode → transition

DECISIONS = [
    # returns: collected at the agency by a handover session, then arrive → out for delivery
    (M.COLLECT, K.RETURN, S.BOOKED, R.NOT_ALLOWED, None),
    (M.ARRIVE, K.RETURN, S.BOOKED, R.NOT_ALLOWED, None),
    (M.ARRIVE, K.RETURN, S.PICKUP_FAILED, R.NOT_ALLOWED, None),
    (M.ARRIVE, K.RETURN, S.PICKED_UP, R.ACCEPTED, S.IN_TRANSIT),
    (M.ARRIVE, K.RETURN, S.IN_TRANSIT, R.ALREADY_APPLIED, None),
    (M.ARRIVE, K.RETURN, S.OUT_FOR_DELIVERY, R.ALREADY_APPLIED, None),
    (M.ARRIVE, K.RETURN, S.DELIVERY_FAILED, R.ALREADY_APPLIED, None),
    (M.ARRIVE, K.RETURN, S.AVAILABLE_FOR_PICKUP, R.ALREADY_APPLIED, None),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.PICKED_UP, R.ACCEPTED, S.OUT_FOR_DELIVERY),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.IN_TRANSIT, R.ACCEPTED, S.OUT_FOR_DELIVERY),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.OUT_FOR_DELIVERY, R.ALREADY_APPLIED, None),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.DELIVERY_FAILED, R.ACCEPTED, S.OUT_FOR_DELIVERY),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.AVAILABLE_FOR_PICKUP, R.ACCEPTED, S.OUT_FOR_DELIVERY),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.DELIVERED, R.NOT_ALLOWED, None),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.RETURNING_TO_AGENCY, R.NOT_ALLOWED, None),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.RETURNED_TO_AGENCY, R.NOT_ALLOWED, None),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.REQUESTED, R.NOT_ALLOWED, None),
    (M.OUT_FOR_DELIVERY, K.RETURN, S.AWAITING_RESULT, R.NOT_ALLOWED, None),
    (M.ARRIVE, K.RETURN, S.CANCELLED, R.NOT_ALLOWED, None),
    (M.ARRIVE, K.RETURN, S.LOST_OR_DAMAGED, R.NOT_ALLOWED, None),
    # pickups: collected at the citizen's home, then carried to the agency
    (M.COLLECT, K.PICKUP, S.BOOKED, R.ACCEPTED, S.PICKED_UP),
    (M.COLLECT, K.PICKUP, S.PICKUP_FAILED, R.ACCEPTED, S.PICKED_UP),
    (M.COLLECT, K.PICKUP, S.PICKED_UP, R.ALREADY_APPLIED, None),
    (M.COLLECT, K.PICKUP, S.IN_TRANSIT, R.ALREADY_APPLIED, None),
    (M.COLLECT, K.PICKUP, S.DELIVERED, R.NOT_ALLOWED, None),
    (M.COLLECT, K.PICKUP, S.REQUESTED, R.NOT_ALLOWED, None),
    (M.COLLECT, K.PICKUP, S.CANCELLED, R.NOT_ALLOWED, None),
    (M.ARRIVE, K.PICKUP, S.BOOKED, R.NOT_ALLOWED, None),
    (M.ARRIVE, K.PICKUP, S.PICKED_UP, R.ACCEPTED, S.IN_TRANSIT),
    (M.OUT_FOR_DELIVERY, K.PICKUP, S.IN_TRANSIT, R.ACCEPTED, S.OUT_FOR_DELIVERY),
    # transfers: collected at the sending agency by a handover session
    (M.COLLECT, K.TRANSFER, S.BOOKED, R.NOT_ALLOWED, None),
    (M.ARRIVE, K.TRANSFER, S.PICKED_UP, R.ACCEPTED, S.IN_TRANSIT),
]


@pytest.mark.parametrize(("mode", "kind", "status", "outcome", "target"), DECISIONS)
def test_each_mode_moves_only_what_the_journey_allows(mode, kind, status, outcome, target) -> None:
    d = decide(mode, kind, status)
    assert (d.outcome, d.target) == (outcome, target)
    if outcome != R.ACCEPTED:
        assert d.reason  # the clerk is told why


def test_a_scan_never_asks_for_a_move_the_transition_table_forbids() -> None:
    for kind in Kind:
        for status in Status:
            for mode in (M.COLLECT, M.ARRIVE, M.OUT_FOR_DELIVERY):
                d = decide(mode, kind, status)
                if d.outcome == R.ACCEPTED:
                    assert d.target in TRANSITIONS[kind][status]


def test_lookup_and_handover_scans_never_move_anything() -> None:
    for status in Status:
        assert decide(M.LOOKUP, K.RETURN, status).target is None
        assert decide(M.HANDOVER, K.PICKUP, status).target is None


NEXT = [
    (K.RETURN, S.BOOKED, ("handover_to_post",)),
    (K.RETURN, S.PICKUP_FAILED, ("handover_to_post",)),
    (K.RETURN, S.PICKED_UP, ("arrive", "out_for_delivery", "return_to_agency")),
    (K.RETURN, S.IN_TRANSIT, ("out_for_delivery", "return_to_agency")),
    (K.RETURN, S.OUT_FOR_DELIVERY, ("delivered", "failed", "return_to_agency")),
    (K.RETURN, S.DELIVERY_FAILED, ("out_for_delivery", "delivered", "failed", "return_to_agency")),
    (K.RETURN, S.AVAILABLE_FOR_PICKUP, ("out_for_delivery", "delivered", "return_to_agency")),
    (K.RETURN, S.RETURNING_TO_AGENCY, ("handover_to_agency",)),
    (K.RETURN, S.DELIVERED, ()),
    (K.RETURN, S.AWAITING_RESULT, ()),
    (K.PICKUP, S.BOOKED, ("collect", "failed")),
    (K.PICKUP, S.PICKUP_FAILED, ("collect", "failed")),
    (K.PICKUP, S.PICKED_UP, ("arrive", "out_for_delivery", "handover_to_agency")),
    (K.PICKUP, S.IN_TRANSIT, ("out_for_delivery", "handover_to_agency")),
    (K.PICKUP, S.DELIVERED, ()),
    (K.TRANSFER, S.BOOKED, ("handover_to_post",)),
]


@pytest.mark.parametrize(("kind", "status", "actions"), NEXT)
def test_what_a_clerk_can_do_next(kind, status, actions) -> None:
    assert tuple(a.value for a in next_actions(kind, status)) == actions


# --------------------------------------------------------------------------------------------- outcomes, IDs


def test_the_legal_failure_reasons_per_kind() -> None:
    assert [r.code for r in reasons_for(K.RETURN)] == [
        "address_incomplete",
        "address_wrong",
        "recipient_moved",
        "recipient_not_found",
        "recipient_absent",
        "recipient_refused",
    ]
    assert [r.code for r in reasons_for(K.PICKUP)] == [
        "address_incomplete",
        "address_wrong",
        "documents_incomplete",
        "citizen_absent",
    ]
    assert reasons_for(K.TRANSFER) == []
    labels = [r.label for r in FAILURE_REASONS.values()] + list(RETURN_REASON_LABELS_VI.values())
    assert all(lbl and unicodedata.is_normalized("NFC", lbl) for lbl in labels)
    assert len({r.label for r in FAILURE_REASONS.values()}) == len(FAILURE_REASONS)
    assert "Điều 17" in FAILURE_REASONS["recipient_refused"].basis
    assert "18/2015" in FAILURE_REASONS["recipient_refused"].basis
    assert "không phải từ chối" in FAILURE_REASONS["documents_incomplete"].then  # guide, reschedule (QĐ45 6.3)
    assert "2 lần" in FAILURE_REASONS["recipient_absent"].then


@pytest.mark.parametrize(
    ("id_type", "text", "kept"),
    [("cccd", "1234", "1234"), ("cmnd", " 12 34 ", "1234"), ("passport", "c567", "C567"), ("passport", "4567", "4567")],
)
def test_only_the_last_four_characters_are_taken(id_type: str, text: str, kept: str) -> None:
    assert id_last_digits(id_type, text) == kept


@pytest.mark.parametrize(
    ("id_type", "text"),
    [("cccd", "001234567890"), ("cccd", "123"), ("cccd", "12a4"), ("cmnd", ""), ("passport", "C12345"), ("cccd", None)],
)
def test_a_full_number_or_anything_but_four_characters_is_refused(id_type: str, text) -> None:
    with pytest.raises(ValueError):
        id_last_digits(id_type, text)


def test_a_citizen_receiver_is_checked_against_the_id_on_file() -> None:
    assert check_citizen_id(None, None, IdType.CCCD, "1234") == IdCheck.NOT_ON_FILE
    assert check_citizen_id("cccd", "1234", IdType.CCCD, "1234") == IdCheck.MATCHED
    assert check_citizen_id("cccd", "1234", IdType.PASSPORT, "9999") == IdCheck.OTHER_DOCUMENT
    with pytest.raises(ValueError, match="không khớp"):
        check_citizen_id("cccd", "1234", IdType.CCCD, "1235")


T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday 15:00 in Hà Nội
WEEKENDS = WorkingCalendar(holidays=frozenset())


def _consignment(kind: Kind, *path: Status) -> Consignment:
    c = Consignment.register(
        initial=S.REQUESTED,
        occurred_at=T0 - timedelta(days=1),
        actor="api_key:pb_test",
        id="c-1",
        agency_id="agency-1",
        kind=kind,
        carrier="vnpost",
        service="standard",
        dossier=DossierLink(code="000.00.12.H56-261115-0007"),
        citizen=Party("Nguyễn Thị Hằng", Phone("+84912345678"), Address("Số 1", "00004", "01")),
        parcel=Parcel(weight_g=300, contents="Kết quả"),
        tracking_token="tok",
    )
    for i, status in enumerate(path):
        c.transition(status, occurred_at=T0 + timedelta(minutes=i), source=Source.SCAN)
    return c


def test_the_citizens_id_is_kept_as_type_and_last_four_only() -> None:
    c = _consignment(K.RETURN)
    version = c.version
    set_citizen_id(c, "cccd", "5678")
    assert (c.citizen_id_type, c.citizen_id_last4, c.version) == ("cccd", "5678", version + 1)
    with pytest.raises(ValueError):
        set_citizen_id(c, "driving_licence", "5678")
    with pytest.raises(ValueError):
        set_citizen_id(c, "cccd", "001234565678")


def test_failed_attempts_are_counted_per_kind() -> None:
    ret = _consignment(K.RETURN, S.BOOKED, S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED, S.OUT_FOR_DELIVERY)
    assert failed_attempts(ret) == 1
    ret.transition(S.DELIVERY_FAILED, occurred_at=T0 + timedelta(hours=1), source=Source.SCAN)
    assert failed_attempts(ret) == 2
    pickup = _consignment(K.PICKUP, S.BOOKED, S.PICKUP_FAILED, S.BOOKED, S.PICKUP_FAILED)
    assert failed_attempts(pickup) == 2


# ------------------------------------------------------------------------------------------ handover sessions


def test_moves_per_direction() -> None:
    assert movable_statuses(HandoverDirection.TO_POST) == {
        K.RETURN: (S.BOOKED, S.PICKUP_FAILED),
        K.TRANSFER: (S.BOOKED,),
    }
    assert movable_statuses(HandoverDirection.TO_AGENCY) == {
        K.PICKUP: (S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY),
        K.TRANSFER: (S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY),
        K.RETURN: (S.RETURNING_TO_AGENCY,),
    }
    assert move_target(HandoverDirection.TO_AGENCY, K.PICKUP, S.IN_TRANSIT) == S.DELIVERED
    assert move_target(HandoverDirection.TO_AGENCY, K.RETURN, S.RETURNING_TO_AGENCY) == S.RETURNED_TO_AGENCY
    assert move_target(HandoverDirection.TO_POST, K.PICKUP, S.BOOKED) is None
    for (direction, kind), moves in MOVES.items():
        for before, after in moves.items():
            assert after in TRANSITIONS[kind][before], (direction, kind, before)
    assert "không bàn giao" in why_not_movable(HandoverDirection.TO_POST, K.PICKUP, S.BOOKED)
    assert "Đang phát" in why_not_movable(HandoverDirection.TO_AGENCY, K.RETURN, S.OUT_FOR_DELIVERY)
    assert new_session_id(T0).startswith("BG-260302-") and len(new_session_id(T0)) == 16


def test_session_arithmetic_expected_scanned_missing_extra() -> None:
    at = T0
    items = [
        SessionItem("e1", 1, True, at + timedelta(seconds=30)),
        SessionItem("e2", 2, True),
        SessionItem("e3", 3, True, at + timedelta(seconds=10), "Đã hủy"),  # expected, but it cannot move now
        SessionItem("e4", 4, True, at + timedelta(seconds=5)),
        SessionItem("x1", 5, False, at + timedelta(seconds=20)),
        SessionItem("x2", 6, False, at + timedelta(seconds=40), "Hồ sơ của công dân"),
        SessionItem("e5", 7, True),
    ]
    t = tally(list(reversed(items)))  # order of storage does not matter
    assert t.expected == ("e1", "e2", "e3", "e4", "e5")
    assert t.scanned == ("e4", "x1", "e1")  # in scan order
    assert t.missing == ("e2", "e5")
    assert t.extra == ("x1",)
    assert t.excluded == (("e3", "Đã hủy"), ("x2", "Hồ sơ của công dân"))
    assert t.to_hand_over == ("e4", "x1", "e1")
    assert t.counts == {"expected": 5, "scanned": 3, "missing": 2, "extra": 1, "excluded": 2}
    empty = tally([])
    assert empty.counts == {"expected": 0, "scanned": 0, "missing": 0, "extra": 0, "excluded": 0}


# ------------------------------------------------------------------------------------------------ worklist


def test_each_open_item_lands_in_one_pile() -> None:
    day = date(2026, 3, 2)
    cases = [
        (_consignment(K.RETURN, S.BOOKED), Pile.COLLECT_AT_AGENCY),
        (_consignment(K.TRANSFER, S.BOOKED), Pile.COLLECT_AT_AGENCY),
        (_consignment(K.PICKUP, S.BOOKED), Pile.COLLECT_FROM_CITIZEN),
        (_consignment(K.PICKUP, S.BOOKED, S.PICKUP_FAILED), Pile.COLLECT_FROM_CITIZEN),
        (_consignment(K.RETURN, S.BOOKED, S.PICKED_UP), Pile.ARRIVED),
        (_consignment(K.RETURN, S.BOOKED, S.PICKED_UP, S.IN_TRANSIT), Pile.ARRIVED),
        (_consignment(K.RETURN, S.BOOKED, S.PICKED_UP, S.OUT_FOR_DELIVERY), Pile.OUT_FOR_DELIVERY),
        (_consignment(K.RETURN, S.BOOKED, S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED), Pile.FAILED),
        (_consignment(K.RETURN, S.BOOKED, S.PICKED_UP, S.RETURNING_TO_AGENCY), Pile.RETURN_TO_AGENCY),
        (_consignment(K.PICKUP, S.BOOKED, S.PICKED_UP, S.IN_TRANSIT), Pile.HAND_TO_AGENCY),
        (_consignment(K.TRANSFER, S.BOOKED, S.PICKED_UP), Pile.HAND_TO_AGENCY),
        (_consignment(K.RETURN, S.BOOKED, S.PICKED_UP, S.DELIVERED), None),
        (_consignment(K.RETURN), None),
    ]
    for c, pile in cases:
        assert pile_of(c, day, WEEKENDS) == pile, [e.status for e in c.events]


def test_a_failed_result_goes_to_the_return_pile_when_the_invitations_are_over() -> None:
    c = _consignment(K.RETURN, S.BOOKED, S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED)
    inv = invitations(c, WEEKENDS)
    assert inv is not None
    # Failed on Monday 2 March: second invitation Wednesday 4, back to the agency after Friday 6.
    assert (inv.attempts, inv.failed_on, inv.second_invitation_on, inv.return_to_agency_by) == (
        1,
        date(2026, 3, 2),
        date(2026, 3, 4),
        date(2026, 3, 6),
    )
    assert pile_of(c, date(2026, 3, 6), WEEKENDS) == Pile.FAILED
    assert pile_of(c, date(2026, 3, 7), WEEKENDS) == Pile.RETURN_TO_AGENCY
    assert invitations(_consignment(K.RETURN, S.BOOKED), WEEKENDS) is None
    assert invitations(_consignment(K.PICKUP, S.BOOKED, S.PICKUP_FAILED), WEEKENDS) is None
