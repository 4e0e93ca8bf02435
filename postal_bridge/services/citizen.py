"""The citizen's tracking page ``/t/<token>`` and what a citizen may change there (``domain.citizen``).

* ``tracking_view`` — what the page shows, personal data masked; ``None`` for an unknown or expired link. Both go
  through the same reads and the same view building (on a stand-in consignment), so the time taken does not tell a
  live token from a dead one.
* ``request_code`` / ``verify_code`` — a six-digit code by SMS to the registered phone (``services.sms.queue_sms``,
  event ``otp``, sent at once whatever the hour), stored hashed, 5 minutes, 5 tries, single use, bound to the
  consignment and the action. The code is never logged nor kept in clear.
* ``reschedule`` / ``hold_at_post_office`` / ``request_address_change`` — once verified: each becomes a
  ``CitizenRequest`` the counter handles (``services.citizen_requests``) and an audit entry. Nothing is sent to the
  courier: carriers.md documents no call that moves a delivery day or holds an item before the first attempt, so the
  counter passes the request on; the consignment itself never changes here (an address change is never an edit).
* The postman's phone comes from ``services.citizen_contacts`` (fed by scans and courier events); the page shows it
  on the day of delivery only.

Every refusal is a domain error with an English message (the page translates it): ``NotFound`` for a dead link,
``Conflict`` once out for delivery, ``ValidationFailed`` for bad input (nothing changed).
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from postal_bridge.domain.address import Address, Party, Ward
from postal_bridge.domain.citizen import (
    OTP_LIFETIME,
    OTP_MAX_ATTEMPTS,
    OTP_MAX_PER_DAY,
    REPLACES,
    VERIFIED_FOR,
    Action,
    CitizenRequest,
    Closed,
    CodeCheck,
    HoldOffice,
    OtpChallenge,
    RequestStatus,
    RequestSummary,
    TimelineEntry,
    TrackingView,
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
from postal_bridge.domain.consignment import Consignment, ConsignmentEvent, DossierLink, Parcel, Source
from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.sla import local_date
from postal_bridge.domain.sms import OTP_EVENT
from postal_bridge.domain.status import TERMINAL, Kind, Status
from postal_bridge.domain.text import nfc
from postal_bridge.services.deps import Deps
from postal_bridge.services.geography import promised_days
from postal_bridge.services.post_offices import nearest_for
from postal_bridge.services.sms import queue_sms

log = logging.getLogger("postal_bridge.citizen")
DAY = timedelta(hours=24)
MAX_TOKEN = 32
_DIGITS = re.compile(r"[0-9]{6}")
DEAD_LINK = "No consignment with this tracking link."
ACTIONS_CLOSED = {
    Closed.NOT_A_RETURN: "Only a result coming to your address can be changed here.",
    Closed.OUT_FOR_DELIVERY: "The item is already out for delivery; it can no longer be changed here.",
    Closed.FINISHED: "This consignment is finished; nothing can be changed.",
}
TOO_MANY_CODES = "Too many codes were asked for this item today."
CODE_NOT_SENT = "No code can be sent to the registered phone."
NO_OFFICE = "No post office is known for this address."
NOT_OFFERED = "Choose one of the days offered."


class ActionsClosed(Conflict):
    code = "actions_closed"

    def __init__(self, reason: Closed) -> None:
        super().__init__(ACTIONS_CLOSED[reason])
        self.reason = reason


class CodeRefused(ValidationFailed):
    """The entered code opens nothing; ``reason`` says why, ``attempts_left`` how many tries remain."""

    code = "code_refused"

    def __init__(self, reason: CodeCheck | str, attempts_left: int = 0) -> None:
        super().__init__({"code": [str(reason)]}, message="The code was not accepted.")
        self.reason = reason
        self.attempts_left = attempts_left


@dataclass(frozen=True)
class CodeSent:
    phone: str  # masked: 09xx xxx 678
    valid_minutes: int
    expires_at: datetime


@dataclass(frozen=True)
class Verified:
    action: Action
    until: datetime


@dataclass(frozen=True)
class ActionForm:
    """What an action's page offers: the days (reschedule), the office (hold) or the wards (address change)."""

    view: TrackingView
    action: Action
    days: tuple[date, ...] = ()
    office: HoldOffice | None = None
    wards: tuple[Ward, ...] = ()
    current_ward: str | None = None


# ---------------------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Lookup:
    """``live`` False: an unknown or expired link, and ``view`` is the stand-in's (nothing real): the page renders it
    and throws it away, so a dead link costs what a live one does."""

    view: TrackingView
    live: bool


def lookup(deps: Deps, token: str) -> Lookup:
    now = deps.clock.now()
    with deps.uow() as uow:
        c = _find(uow, token)
        live = c is not None and not link_expired(c, now)
        view = _view(uow, deps, c if live and c is not None else _stand_in(now), now)
    return Lookup(view=view, live=live)


def tracking_view(deps: Deps, token: str) -> TrackingView | None:
    """The page's content, or ``None`` when the link is unknown or expired (after the same work either way)."""
    found = lookup(deps, token)
    return found.view if found.live else None


def action_form(deps: Deps, token: str, action: str) -> ActionForm:
    """What the page for one action needs; refuses like the action itself would (dead link, too late)."""
    act = _action(action)
    now = deps.clock.now()
    with deps.uow() as uow:
        c = _live(uow, token, now)
        _check_open(c)
        view = _view(uow, deps, c, now)
        wards = tuple(uow.units.in_province(c.citizen.address.province_code)) if act == Action.ADDRESS else ()
    if act == Action.RESCHEDULE:
        return ActionForm(view, act, days=tuple(_days(deps, c, now)))
    if act == Action.HOLD:
        return ActionForm(view, act, office=_office(deps, c))
    return ActionForm(view, act, wards=wards, current_ward=c.citizen.address.ward_code)


def _find(uow: UnitOfWork, token: str) -> Consignment | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    return uow.consignments.by_token(token)


def _live(uow: UnitOfWork, token: str, now: datetime) -> Consignment:
    c = _find(uow, token)
    if c is None or link_expired(c, now):
        raise NotFound(DEAD_LINK)
    return c


def _check_open(c: Consignment) -> None:
    reason = closed_reason(c)
    if reason is not None:
        raise ActionsClosed(reason)


def _action(value: str) -> Action:
    try:
        return Action(value)
    except ValueError:
        raise ValidationFailed({"action": ["Choose what you want to change."]}) from None


def _view(uow: UnitOfWork, deps: Deps, c: Consignment, now: datetime) -> TrackingView:
    today = local_date(now)
    ward = uow.units.ward(c.citizen.address.ward_code)
    agency = uow.agencies.get(c.agency_id)
    settings = uow.sms.settings(c.agency_id)
    requests = uow.citizen.requests_for(c.id)
    contact = uow.citizen.contact(c.id)
    summaries = tuple(_summary(uow, r) for r in reversed(requests) if r.status != RequestStatus.SUPERSEDED)
    plan_request = delivery_plan(requests)
    plan = _summary(uow, plan_request) if plan_request else None
    estimate = (
        estimated_delivery(c, today, deps.calendar, promised_days(deps, c.route_class))
        if deps.calendar is not None
        else c.due_date
    )
    if plan is not None and estimate is not None:  # the citizen's own choice stands until the item goes out
        estimate = plan.day if plan.kind == Action.RESCHEDULE else None
    hotline = (settings.hotline if settings else None) or (agency.phone if agency else None)
    postman = postman_phone_today(c, contact, today)
    purged = c.personal_data_purged_at is not None
    return TrackingView(
        kind=c.kind,
        status=c.status,
        finished=c.status in TERMINAL,
        tracking_code=c.tracking_code,
        recipient="" if purged else c.citizen.masked_name,
        phone="" if purged else c.citizen.phone.masked,
        area=f"{ward.name}, {ward.province_name}" if ward else "",
        province_code=c.citizen.address.province_code,
        agency_name=agency.name if agency else "",
        hotline=_display(hotline) if hotline else None,
        estimated=estimate,
        finished_at=(c.events[-1].occurred_at if c.events else c.created_at) if c.status in TERMINAL else None,
        plan=plan,
        requests=summaries,
        postman_phone=_display(postman) if postman else None,
        closed=closed_reason(c),
        timeline=tuple(
            TimelineEntry(at=e.occurred_at, status=e.status, source=e.source, location=e.location)
            for e in reversed(c.events)
        ),
    )


def _summary(uow: UnitOfWork, r: CitizenRequest) -> RequestSummary:
    ward_label = None
    if r.kind == Action.ADDRESS and isinstance(r.details.get("ward_code"), str):
        ward = uow.units.ward(r.details["ward_code"])
        ward_label = f"{ward.name}, {ward.province_name}" if ward else None
    return RequestSummary(
        kind=r.kind,
        status=r.status,
        created_at=r.created_at,
        day=r.day,
        post_office=r.details.get("post_office_name"),
        ward=ward_label,
    )


def _display(e164: str) -> str:
    try:
        return Phone(e164).display if e164.startswith("+84") else e164
    except (IndexError, ValueError):
        return e164


def _stand_in(now: datetime) -> Consignment:
    """A consignment that exists nowhere, shaped like a typical one in transit: an unknown or expired link is
    answered after building the page for it, so both take as long as a real page."""
    start = now - timedelta(days=2)
    steps = (Status.REQUESTED, Status.BOOKED, Status.PICKED_UP, Status.IN_TRANSIT)
    events = [
        ConsignmentEvent(
            status=s,
            occurred_at=start + timedelta(hours=5 * i),
            source=Source.SYSTEM,
            previous_status=steps[i - 1] if i else None,
            location=None,
            seq=i + 1,
        )
        for i, s in enumerate(steps)
    ]
    return Consignment(
        id="00000000-0000-4000-8000-000000000000",
        agency_id="00000000-0000-4000-8000-000000000000",
        kind=Kind.RETURN,
        status=Status.IN_TRANSIT,
        carrier="sandbox",
        service="standard",
        dossier=DossierLink(code=None),
        citizen=Party(name="Nguyễn Văn An", phone=Phone("+84900000000"), address=Address("-", "00004", "01")),
        parcel=Parcel(weight_g=1, contents="-"),
        tracking_token="",
        created_at=start,
        due_date=local_date(now + timedelta(days=2)),
        events=events,
    )


# -------------------------------------------------------------------------------------------------- one-time codes


def request_code(deps: Deps, token: str, action: str) -> CodeSent:
    """Send a new code for ``action`` to the registered phone; any earlier code for it stops working."""
    act = _action(action)
    now = deps.clock.now()
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    minutes = int(OTP_LIFETIME.total_seconds() // 60)
    with deps.uow() as uow:
        c = _live(uow, token, now)
        _check_open(c)
        if uow.citizen.challenges_since(c.id, now - DAY) >= OTP_MAX_PER_DAY:
            _audit(uow, deps, token, "citizen.otp_refused", c, action=act.value, reason="daily limit")
            uow.commit()
            raise Conflict(TOO_MANY_CODES)
        uow.citizen.close_challenges(c.id, act, at=now)
        challenge = OtpChallenge(
            id=uuid.uuid4().hex,
            consignment_id=c.id,
            action=act,
            salt=salt,
            code_hash=hash_code(code, salt),
            created_at=now,
            expires_at=now + OTP_LIFETIME,
        )
        uow.citizen.add_challenge(challenge)
        outbox_id = queue_sms(
            uow,
            deps,
            consignment=c,
            event=OTP_EVENT,
            params={"code": code, "valid_minutes": minutes},
            dedupe_key=f"{c.id}:{OTP_EVENT}:{challenge.id}",
            urgent=True,
        )
        if outbox_id is None:  # a landline, SMS off: no code may stand that nobody received
            uow.rollback()
            _audit(uow, deps, token, "citizen.otp_refused", c, action=act.value, reason="not sendable")
            uow.commit()
            raise Conflict(CODE_NOT_SENT)
        _audit(uow, deps, token, "citizen.otp_sent", c, action=act.value, challenge_id=challenge.id)
        uow.commit()
    deps.wake([outbox_id])
    return CodeSent(phone=c.citizen.phone.masked, valid_minutes=minutes, expires_at=challenge.expires_at)


def verify_code(deps: Deps, token: str, action: str, code: str) -> Verified:
    """Spend the action's current code; raises ``CodeRefused`` (malformed, wrong, expired, too many tries, used)."""
    act = _action(action)
    entered = "".join((code or "").split())
    if not _DIGITS.fullmatch(entered):
        raise CodeRefused("malformed")  # not a try: nothing is counted
    now = deps.clock.now()
    with deps.uow() as uow:
        c = _live(uow, token, now)
        _check_open(c)
        challenge = uow.citizen.current_challenge(c.id, act)
        result = check_code(challenge, entered, now)
        if result == CodeCheck.OK and challenge is not None and uow.citizen.use_challenge(challenge.id, at=now):
            _audit(uow, deps, token, "citizen.otp_verified", c, action=act.value, challenge_id=challenge.id)
            uow.commit()
            return Verified(action=act, until=now + VERIFIED_FOR)
        left = 0
        if result == CodeCheck.WRONG and challenge is not None:
            left = max(OTP_MAX_ATTEMPTS - uow.citizen.count_attempt(challenge.id), 0)
            result = CodeCheck.WRONG if left else CodeCheck.EXHAUSTED
        elif result == CodeCheck.OK:  # spent by a concurrent request an instant ago
            result = CodeCheck.USED
        _audit(uow, deps, token, "citizen.otp_failed", c, action=act.value, reason=result.value, attempts_left=left)
        uow.commit()
    raise CodeRefused(result, attempts_left=left)


# --------------------------------------------------------------------------------------------------------- actions


def reschedule(deps: Deps, token: str, day: str) -> CitizenRequest:
    """Ask for delivery on one of the offered days (replaces an earlier day or hold still waiting)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        c = _live(uow, token, now)
    _check_open(c)
    try:
        chosen = date.fromisoformat((day or "").strip())
    except ValueError:
        chosen = None
    if chosen is None or chosen not in _days(deps, c, now):
        raise ValidationFailed({"date": [NOT_OFFERED]})
    return _file(deps, token, c.id, Action.RESCHEDULE, {"date": chosen.isoformat()})


def hold_at_post_office(deps: Deps, token: str) -> CitizenRequest:
    """Keep the result at the post office nearest the address, for the citizen to collect with their ID."""
    now = deps.clock.now()
    with deps.uow() as uow:
        c = _live(uow, token, now)
    _check_open(c)
    office = _office(deps, c)
    if office is None:
        raise Conflict(NO_OFFICE)
    return _file(deps, token, c.id, Action.HOLD, {"post_office_code": office.code, "post_office_name": office.name})


def request_address_change(deps: Deps, token: str, *, line: str, ward_code: str) -> CitizenRequest:
    """Leave the counter a new address to check (street line and a ward of the same province)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        c = _live(uow, token, now)
        _check_open(c)
        ward = uow.units.ward((ward_code or "").strip())
    errors: dict[str, list[str]] = {}
    street = " ".join(nfc(line or "").split())
    if not street:
        errors["line"] = ["Required."]
    elif len(street) > 200:
        errors["line"] = ["At most 200 characters."]
    if ward is None or ward.province_code != c.citizen.address.province_code:
        errors["ward_code"] = ["Choose a ward of the list."]
    if errors:
        raise ValidationFailed(errors)
    assert ward is not None
    return _file(deps, token, c.id, Action.ADDRESS, {"line": street, "ward_code": ward.code})


def _days(deps: Deps, c: Consignment, now: datetime) -> list[date]:
    if deps.calendar is None:
        return []
    today = local_date(now)
    estimate = estimated_delivery(c, today, deps.calendar, promised_days(deps, c.route_class))
    return reschedule_days(today, estimate, deps.calendar)


def _office(deps: Deps, c: Consignment) -> HoldOffice | None:
    if deps.post_offices is None:
        return None
    office = nearest_for(deps, c.citizen.address.ward_code)  # reads the registry on its own connection
    if office is None:
        return None
    return HoldOffice(
        code=office.code,
        name=office.name,
        address=office.address_line,
        phone=_display(office.phone) if office.phone else None,
    )


def _file(deps: Deps, token: str, consignment_id: str, kind: Action, details: dict) -> CitizenRequest:
    """Store the request, replacing the open ones it supersedes, in one transaction that re-checks the status."""
    now = deps.clock.now()
    with deps.uow() as uow:
        c = _live(uow, token, now)
        if c.id != consignment_id:
            raise NotFound(DEAD_LINK)
        _check_open(c)  # the postman may have taken it out since the page was shown
        replaced = uow.citizen.supersede(c.id, REPLACES[kind])
        request = CitizenRequest(
            id=uuid.uuid4().hex,
            consignment_id=c.id,
            agency_id=c.agency_id,
            kind=kind,
            details=details,
            created_at=now,
            actor=citizen_actor(token),
        )
        uow.citizen.add_request(request)
        _audit(
            uow,
            deps,
            token,
            f"citizen.{kind.value}",
            c,
            request_id=request.id,
            before=[_public(r) for r in replaced] or None,
            after=_public(request),
        )
        uow.commit()
    return request


def _public(r: CitizenRequest) -> dict[str, object]:
    """What the audit log keeps of a request: never the street line."""
    kept = {k: v for k, v in r.details.items() if k != "line"}
    return {"id": r.id, "kind": r.kind.value, "status": r.status.value, **kept}


def _audit(uow: UnitOfWork, deps: Deps, token: str, event: str, c: Consignment, **details: object) -> None:
    uow.audit.record(
        AuditEntry(
            at=deps.clock.now(),
            actor=citizen_actor(token),
            action=event,
            subject=f"consignment:{c.id}",
            details={"status": c.status.value, **details},
        )
    )
