"""The citizen's rules (``domain.citizen``): link lifetime, when changes close, the reschedule window on the shipped
holiday calendar, one-time code checks and the postman's phone on the delivery day only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources

import pytest

from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.calendar import load_calendar
from postal_bridge.domain.citizen import (
    LINK_LIFETIME,
    OTP_LIFETIME,
    OTP_MAX_ATTEMPTS,
    Action,
    CitizenRequest,
    Closed,
    CodeCheck,
    OtpChallenge,
    PostmanContact,
    RequestStatus,
    check_code,
    citizen_actor,
    closed_reason,
    delivery_plan,
    estimated_delivery,
    hash_code,
    link_expired,
    postman_phone_today,
    reschedule_days,
)
from postal_bridge.domain.consignment import Consignment, DossierLink, Parcel, Source
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.status import STATUS_LABELS_VI, Kind, Status

NOW = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)  # Monday 08:30 in Hà Nội
MONDAY = date(2026, 11, 16)


@pytest.fixture(scope="module")
def calendar():
    text = resources.files("postal_bridge.data").joinpath("holidays_vn.json").read_text(encoding="utf-8")
    return load_calendar(json.loads(text))


def consignment(*path: Status, kind: Kind = Kind.RETURN, at: datetime = NOW, due: date | None = None) -> Consignment:
    c = Consignment.register(
        occurred_at=at,
        actor="test",
        id="c-1",
        agency_id="a-1",
        kind=kind,
        carrier="sandbox",
        service="standard",
        dossier=DossierLink(code="000.00.12.H56-261115-0007"),
        citizen=Party("Nguyễn Thị Hằng", Phone("+84912345678"), Address("Số 12", "00004", "01")),
        parcel=Parcel(weight_g=250, contents="Phiếu"),
        tracking_token="tok",
        due_date=due,
    )
    for i, s in enumerate(path):
        c.transition(s, occurred_at=at + timedelta(minutes=i + 1), source=Source.SCAN)
    return c


DELIVERED = (Status.BOOKED, Status.PICKED_UP, Status.OUT_FOR_DELIVERY, Status.DELIVERED)


def test_a_link_lives_while_open_and_for_90_days_after_the_end() -> None:
    open_item = consignment(Status.BOOKED)
    assert not link_expired(open_item, NOW + timedelta(days=400))
    done = consignment(*DELIVERED)
    ended = done.events[-1].occurred_at
    assert not link_expired(done, ended + LINK_LIFETIME)
    assert link_expired(done, ended + LINK_LIFETIME + timedelta(seconds=1))
    purged = consignment(Status.BOOKED)
    purged.personal_data_purged_at = NOW
    assert link_expired(purged, NOW)


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        (Kind.RETURN, (), None),
        (Kind.RETURN, (Status.BOOKED, Status.PICKED_UP, Status.IN_TRANSIT), None),
        (Kind.RETURN, (Status.BOOKED, Status.PICKED_UP, Status.OUT_FOR_DELIVERY), Closed.OUT_FOR_DELIVERY),
        (
            Kind.RETURN,
            (Status.BOOKED, Status.PICKED_UP, Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED),
            Closed.OUT_FOR_DELIVERY,
        ),
        (Kind.RETURN, (Status.BOOKED, Status.PICKED_UP, Status.AVAILABLE_FOR_PICKUP), Closed.OUT_FOR_DELIVERY),
        (Kind.RETURN, DELIVERED, Closed.FINISHED),
        (Kind.RETURN, (Status.CANCELLED,), Closed.FINISHED),
        (Kind.PICKUP, (Status.BOOKED,), Closed.NOT_A_RETURN),
    ],
)
def test_changes_close_once_the_item_is_out_for_delivery(kind, path, expected) -> None:
    assert closed_reason(consignment(*path, kind=kind)) == expected


def test_the_window_runs_five_working_days_from_the_estimate(calendar) -> None:
    tuesday = date(2026, 11, 17)
    days = reschedule_days(MONDAY, tuesday, calendar)
    assert days == [tuesday, date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23)]
    later = reschedule_days(MONDAY, date(2026, 11, 19), calendar)
    assert later[0] == date(2026, 11, 19) and len(later) == 5  # never before the item can be there
    assert reschedule_days(MONDAY, MONDAY, calendar)[0] == tuesday  # never today


def test_the_window_skips_tet_and_weekends(calendar) -> None:
    before_tet = date(2027, 2, 3)  # Wednesday before Tết Đinh Mùi (6/2/2027)
    days = reschedule_days(before_tet, date(2027, 2, 4), calendar)
    assert len(days) == 5 and all(calendar.is_working_day(d) for d in days)
    assert all(d.weekday() < 5 for d in days) and days == sorted(set(days))
    assert any(d > date(2027, 2, 12) for d in days)  # the holiday week is jumped over
    assert calendar.working_days_between(days[0], days[-1]) == 4


def test_the_estimate_is_the_due_date_or_the_promise_again_once_it_passed(calendar) -> None:
    due = date(2026, 11, 18)
    assert estimated_delivery(consignment(Status.BOOKED, due=due), MONDAY, calendar, 2) == due
    late = consignment(Status.BOOKED, due=date(2026, 11, 10))
    assert estimated_delivery(late, MONDAY, calendar, 2) == date(2026, 11, 18)  # J + 2 from today
    moving = consignment(Status.BOOKED, Status.PICKED_UP, due=date(2026, 11, 10))
    assert estimated_delivery(moving, MONDAY, calendar, 3) == date(2026, 11, 17)  # in the post's hands: next day
    out = consignment(Status.BOOKED, Status.PICKED_UP, Status.OUT_FOR_DELIVERY, due=due)
    assert estimated_delivery(out, MONDAY, calendar, 2) is None


def _challenge(**kw) -> OtpChallenge:
    fields = {
        "id": "ch-1",
        "consignment_id": "c-1",
        "action": Action.RESCHEDULE,
        "salt": "5a1t",
        "code_hash": hash_code("042917", "5a1t"),
        "created_at": NOW,
        "expires_at": NOW + OTP_LIFETIME,
    }
    return OtpChallenge(**{**fields, **kw})


def test_a_code_is_checked_against_its_hash_expiry_tries_and_use() -> None:
    assert check_code(_challenge(), "042917", NOW) == CodeCheck.OK
    assert check_code(_challenge(), "042 917", NOW) == CodeCheck.OK  # pasted with a space
    assert check_code(_challenge(), "042918", NOW) == CodeCheck.WRONG
    assert check_code(_challenge(), "042917", NOW + OTP_LIFETIME) == CodeCheck.EXPIRED
    assert check_code(_challenge(attempts=OTP_MAX_ATTEMPTS), "042917", NOW) == CodeCheck.EXHAUSTED
    assert check_code(_challenge(used_at=NOW), "042917", NOW) == CodeCheck.USED
    assert check_code(_challenge(closed_at=NOW), "042917", NOW) == CodeCheck.MISSING
    assert check_code(None, "042917", NOW) == CodeCheck.MISSING
    assert _challenge().code_hash != hash_code("042917", "other-salt")  # salted per code


def test_the_audit_names_a_citizen_by_a_digest_of_the_link_never_the_link() -> None:
    actor = citizen_actor("5m3AeezKq0A")
    assert actor.startswith("citizen:") and len(actor) == len("citizen:") + 12 and "5m3AeezKq0A" not in actor
    assert citizen_actor("5m3AeezKq0B") != actor


def test_the_postmans_phone_is_for_the_delivery_day_only() -> None:
    out = consignment(Status.BOOKED, Status.PICKED_UP, Status.OUT_FOR_DELIVERY)
    at = out.events[-1].occurred_at
    contact = PostmanContact("c-1", "+84912000111", at, "scan")
    assert postman_phone_today(out, contact, MONDAY) == "+84912000111"
    assert postman_phone_today(out, contact, MONDAY + timedelta(days=1)) is None
    assert postman_phone_today(out, None, MONDAY) is None
    stale = PostmanContact("c-1", "+84912000111", at - timedelta(days=1), "scan")  # yesterday's round
    assert postman_phone_today(out, stale, MONDAY) is None
    done = consignment(*DELIVERED)
    assert postman_phone_today(done, contact, MONDAY) is None


def test_the_standing_plan_is_the_newest_day_or_hold_not_replaced() -> None:
    def request(kind: Action, minutes: int, status=RequestStatus.OPEN) -> CitizenRequest:
        return CitizenRequest(
            id=f"r{minutes}",
            consignment_id="c-1",
            agency_id="a-1",
            kind=kind,
            details={},
            created_at=NOW + timedelta(minutes=minutes),
            actor="citizen:x",
            status=status,
        )

    assert delivery_plan([]) is None
    older = request(Action.RESCHEDULE, 1, RequestStatus.SUPERSEDED)
    hold = request(Action.HOLD, 2, RequestStatus.HANDLED)
    address = request(Action.ADDRESS, 3)
    assert delivery_plan([older, hold, address]) is hold


def test_the_pages_status_words_are_the_domains() -> None:
    from postal_bridge.web.citizen.words import STATUS_WORDS

    assert {s: str(w) for s, w in STATUS_WORDS.items()} == STATUS_LABELS_VI
