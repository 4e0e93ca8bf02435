"""The citizen's side of a consignment (the SMS link ``/t/<token>``): how long the link lives, what may still be
changed, the one-time codes that guard every change, the requests a citizen leaves for the counter, and the postman's
phone on the delivery day.

* **Link lifetime.** A tracking link works while the consignment is open and for ``LINK_LIFETIME`` (90 days) after it
  reached a terminal status; once the citizen's personal data was purged it never works again. An expired link is
  answered exactly like an unknown one (no enumeration).
* **Actions** — reschedule, hold for collection at the post office, request an address change — are for results
  coming home (``return``) and only until the item goes out for delivery: ``ACTIONABLE``. Results are identity
  documents: there is no neighbour or safe-place option, and an address change is a request the counter checks,
  never an edit of the consignment (engineering.md §12.1, §12.4).
* **Reschedule window.** The citizen picks a working day from the estimated delivery day (never before the next
  working day) up to ``INVITATION_WORKING_DAYS`` working days after it, at most ``RESCHEDULE_WORKING_DAYS`` choices.
  Why that bound: the post must deliver by J + n (TT 17/2017 Art 7) and keeps an undelivered result for the citizen
  through two invitations 02 working days apart before it goes back to the agency (TT 17/2017 Art 5.2.h); a date
  beyond that would outlast what the law lets the post hold, so it is a matter for the counter.
* **One-time codes.** Six digits, sent by SMS to the registered phone, valid ``OTP_LIFETIME`` (5 minutes), at most
  ``OTP_MAX_ATTEMPTS`` (5) tries, single use, bound to the consignment and the action. Only a salted SHA-256 of the
  code is stored; a code dies with its expiry long before anyone could try the million candidates offline.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.consignment import Consignment, Source
from postal_bridge.domain.sla import INVITATION_WORKING_DAYS, local_date
from postal_bridge.domain.status import TERMINAL, Kind, Status

LINK_LIFETIME = timedelta(days=90)
OTP_LENGTH = 6
OTP_LIFETIME = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
OTP_MAX_PER_DAY = 5  # codes per consignment in 24 hours: each costs an SMS
VERIFIED_FOR = timedelta(minutes=10)  # how long a verified code unlocks its action in the browser's session
RESCHEDULE_WORKING_DAYS = 5
MAX_LINE = 200

S = Status
# Before the item goes out for delivery: the post can still act on what the citizen asks.
ACTIONABLE: frozenset[Status] = frozenset(
    {S.AWAITING_RESULT, S.REQUESTED, S.BOOKING_FAILED, S.BOOKED, S.PICKUP_FAILED, S.PICKED_UP, S.IN_TRANSIT}
)


class Action(StrEnum):
    RESCHEDULE = "reschedule"  # đổi ngày phát
    HOLD = "hold"  # giữ tại bưu cục để tự đến nhận
    ADDRESS = "address"  # yêu cầu đổi địa chỉ (the counter decides)


# A new delivery plan replaces the open one: reschedule and hold exclude each other; address requests replace their
# own kind only.
REPLACES: dict[Action, frozenset[Action]] = {
    Action.RESCHEDULE: frozenset({Action.RESCHEDULE, Action.HOLD}),
    Action.HOLD: frozenset({Action.RESCHEDULE, Action.HOLD}),
    Action.ADDRESS: frozenset({Action.ADDRESS}),
}
DELIVERY_PLAN = frozenset({Action.RESCHEDULE, Action.HOLD})


class Closed(StrEnum):
    """Why the tracking page offers no action."""

    NOT_A_RETURN = "not_a_return"  # a pickup or transfer: the citizen is not the recipient
    OUT_FOR_DELIVERY = "out_for_delivery"  # the postman has it (or tried): too late to change on the page
    FINISHED = "finished"  # terminal


def link_expired(c: Consignment, now: datetime) -> bool:
    """Personal data purged, or terminal for longer than ``LINK_LIFETIME``."""
    if c.personal_data_purged_at is not None:
        return True
    if c.status not in TERMINAL:
        return False
    ended = c.events[-1].occurred_at if c.events else c.created_at
    return now - ended > LINK_LIFETIME


def closed_reason(c: Consignment) -> Closed | None:
    """``None`` when the citizen may still reschedule, hold or ask for an address change."""
    if c.kind != Kind.RETURN:
        return Closed.NOT_A_RETURN
    if c.status in TERMINAL:
        return Closed.FINISHED
    if c.status not in ACTIONABLE:
        return Closed.OUT_FOR_DELIVERY
    return None


def estimated_delivery(
    c: Consignment, today: date, calendar: WorkingCalendar, promised_days: int | None
) -> date | None:
    """The day the citizen can expect the result (or, for a pickup, the agency the dossier): the J + n due date
    while it lies ahead; once it has passed, the promise counted again from today (J + n if the post has not taken
    the item yet, else the next working day). ``None`` once out for delivery or finished."""
    if c.status in TERMINAL or c.status not in ACTIONABLE:
        return None
    if c.due_date is not None and c.due_date >= today:
        return c.due_date
    in_custody = c.status in (S.PICKED_UP, S.IN_TRANSIT)
    n = 1 if in_custody or promised_days is None else promised_days
    return calendar.add_working_days(today, max(n, 1))


def reschedule_days(
    today: date, estimate: date | None, calendar: WorkingCalendar, *, choices: int = RESCHEDULE_WORKING_DAYS
) -> list[date]:
    """The working days a citizen may choose (see the module docstring), earliest first."""
    tomorrow = calendar.next_working_day(today + timedelta(days=1))
    earliest = max(tomorrow, estimate or tomorrow)
    earliest = calendar.next_working_day(earliest)
    latest = calendar.add_working_days(earliest, INVITATION_WORKING_DAYS)
    days: list[date] = []
    d = earliest
    while d <= latest and len(days) < choices:
        days.append(d)
        d = calendar.next_working_day(d + timedelta(days=1))
    return days


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def citizen_actor(token: str) -> str:
    """Who the audit log names for a citizen acting through their link: never the token itself."""
    return f"citizen:{token_digest(token)[:12]}"


# ---------------------------------------------------------------------------------------------------- one-time codes


class CodeCheck(StrEnum):
    OK = "ok"
    MISSING = "missing"  # no code was asked for this action
    WRONG = "wrong"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"  # too many wrong tries: ask for a new code
    USED = "used"


@dataclass
class OtpChallenge:
    id: str
    consignment_id: str
    action: Action
    salt: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None
    closed_at: datetime | None = None  # replaced by a newer code for the same action

    @property
    def attempts_left(self) -> int:
        return max(OTP_MAX_ATTEMPTS - self.attempts, 0)


def hash_code(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def check_code(challenge: OtpChallenge | None, code: str, now: datetime) -> CodeCheck:
    """What an entered code is worth against the action's current challenge (which this does not change)."""
    if challenge is None or challenge.closed_at is not None:
        return CodeCheck.MISSING
    if challenge.used_at is not None:
        return CodeCheck.USED
    if challenge.attempts >= OTP_MAX_ATTEMPTS:
        return CodeCheck.EXHAUSTED
    if now >= challenge.expires_at:
        return CodeCheck.EXPIRED
    entered = "".join(code.split())
    if not hmac.compare_digest(hash_code(entered, challenge.salt), challenge.code_hash):
        return CodeCheck.WRONG
    return CodeCheck.OK


# ---------------------------------------------------------------------------------------------------------- requests


class RequestStatus(StrEnum):
    OPEN = "open"  # waiting for the counter
    HANDLED = "handled"  # the counter dealt with it (told the post, called the citizen)
    SUPERSEDED = "superseded"  # the citizen asked again; the newer request stands


@dataclass
class CitizenRequest:
    """What a citizen asked for through the tracking page; the counter handles it (``/counter/requests``).

    ``details``: reschedule ``{"date": "YYYY-MM-DD"}``; hold ``{"post_office_code", "post_office_name"}``; address
    ``{"line", "ward_code"}`` (personal data: shown to counter staff only, erased with the consignment's).
    """

    id: str
    consignment_id: str
    agency_id: str
    kind: Action
    details: dict[str, Any]
    created_at: datetime
    actor: str
    status: RequestStatus = RequestStatus.OPEN
    handled_at: datetime | None = None
    handled_by: str | None = None
    note: str = ""

    @property
    def day(self) -> date | None:
        raw = self.details.get("date")
        return date.fromisoformat(raw) if isinstance(raw, str) else None


def delivery_plan(requests: list[CitizenRequest]) -> CitizenRequest | None:
    """The citizen's standing choice of day or post office: the newest reschedule or hold not replaced since."""
    plans = [r for r in requests if r.kind in DELIVERY_PLAN and r.status != RequestStatus.SUPERSEDED]
    return max(plans, key=lambda r: r.created_at) if plans else None


# ------------------------------------------------------------------------------------------------- postman's phone


@dataclass(frozen=True)
class PostmanContact:
    """The phone of whoever took the item out for delivery: the clerk's own number on an out-for-delivery scan, or
    the courier's employee phone from its event (Viettel Post ``EMPLOYEE_PHONE``). ``at``: that event's time."""

    consignment_id: str
    phone: str  # E.164
    at: datetime
    source: str  # scan | the courier's code


def postman_phone_today(c: Consignment, contact: PostmanContact | None, today: date) -> str | None:
    """The postman's phone (E.164), only while the item is out for delivery and only on that day (local time)."""
    if contact is None or c.status != S.OUT_FOR_DELIVERY:
        return None
    out = [e for e in c.events if e.status == S.OUT_FOR_DELIVERY]
    if not out or local_date(out[-1].occurred_at) != today or local_date(contact.at) != today:
        return None
    return contact.phone


# --------------------------------------------------------------------------------------------------- what is shown


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    status: Status
    source: Source
    location: str | None = None  # hub level (a post office, the courier's station), never a door


@dataclass(frozen=True)
class RequestSummary:
    """A citizen request as the citizen's own page shows it: no street line, no phone."""

    kind: Action
    status: RequestStatus
    created_at: datetime
    day: date | None = None
    post_office: str | None = None
    ward: str | None = None


@dataclass(frozen=True)
class HoldOffice:
    code: str
    name: str
    address: str  # the office's own address (public)
    phone: str | None = None  # display form


@dataclass(frozen=True)
class TrackingView:
    """Everything the tracking page shows. Personal data only masked: ``Nguyễn T. H.``, ``09xx xxx 678``, ward and
    province; the postman's phone only on the delivery day."""

    kind: Kind
    status: Status
    finished: bool
    tracking_code: str | None
    recipient: str
    phone: str
    area: str
    province_code: str
    agency_name: str
    hotline: str | None  # display form, e.g. 024 3825 3536
    estimated: date | None
    finished_at: datetime | None
    plan: RequestSummary | None
    requests: tuple[RequestSummary, ...]
    postman_phone: str | None  # display form
    closed: Closed | None
    timeline: tuple[TimelineEntry, ...] = field(default_factory=tuple)

    @property
    def actions_open(self) -> bool:
        return self.closed is None


class CitizenRepository(Protocol):
    """Storage of codes, requests and postman contacts (``uow.citizen``)."""

    def add_challenge(self, challenge: OtpChallenge) -> None: ...

    def current_challenge(self, consignment_id: str, action: Action) -> OtpChallenge | None: ...

    def close_challenges(self, consignment_id: str, action: Action, *, at: datetime) -> int: ...

    def challenges_since(self, consignment_id: str, since: datetime) -> int: ...

    def count_attempt(self, challenge_id: str) -> int: ...

    def use_challenge(self, challenge_id: str, *, at: datetime) -> bool: ...

    def add_request(self, request: CitizenRequest) -> None: ...

    def supersede(self, consignment_id: str, kinds: frozenset[Action]) -> list[CitizenRequest]: ...

    def requests_for(self, consignment_id: str) -> list[CitizenRequest]: ...

    def get_request(self, request_id: str, *, agency_id: str) -> CitizenRequest | None: ...

    def requests_of_agency(self, agency_id: str, *, status: RequestStatus, limit: int) -> list[CitizenRequest]: ...

    def mark_handled(self, request_id: str, *, by: str, at: datetime, note: str) -> bool: ...

    def put_contact(self, contact: PostmanContact) -> None: ...

    def contact(self, consignment_id: str) -> PostmanContact | None: ...
