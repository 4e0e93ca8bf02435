"""SMS to citizens: queue one message per event inside the caller's transaction, send it from the outbox within the
sending hours, and take the gateway's delivery reports.

* ``queue_sms`` renders the text, stores an ``sms_messages`` row (a duplicate ``dedupe_key`` stores nothing) and an
  outbox row ``send_sms`` due at the next sending time (07:00–22:00 Asia/Ho_Chi_Minh; one-time codes at once). A
  message that must not go out is stored as ``skipped`` with the reason: a landline, personal data purged, SMS turned
  off for the installation or the agency, or the per-number limit reached.
* ``record_effects`` (``services.effects``) calls ``queue_for_events`` for every status change with a template, with
  the dedupe key ``<consignment id>:<event>:<event seq>``: a replayed courier event adds no event and a retried job
  finds the key taken, so nothing is ever sent twice; a second failed attempt has its own seq and its own message.
* The outbox handler re-reads the message (already sent: done), re-checks the sending hours (a relayed row never
  goes out at 23:00: it is re-scheduled to 07:00), sends, and marks it sent with the gateway's id. A transient error
  retries on the courier schedule; a permanent one (or the last retry) marks the message failed.
* ``receive_report`` takes ``/webhooks/sms/<gateway>/<secret>``: unknown ids are answered 200 and ignored, a body not
  in the gateway's format 400, and nothing but the message's status ever changes.

Phones are never logged; the texts carry no personal data (no name, no address, no document type).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from postal_bridge.domain.consignment import Consignment, ConsignmentEvent
from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.model import Agency, OutboxItem, OutboxKind
from postal_bridge.domain.phone import Phone, parse_phone
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.sla import INVITATION_WORKING_DAYS
from postal_bridge.domain.sms import (
    OTP_EVENT,
    SmsContext,
    SmsError,
    SmsLength,
    SmsMessage,
    SmsReportInvalid,
    SmsReportRequest,
    SmsSettings,
    SmsStatus,
    check_sender,
    events_for_kind,
    has_template,
    in_sending_hours,
    local_date,
    next_send_time,
    render_sms,
    sms_length,
)
from postal_bridge.domain.status import Kind, Status
from postal_bridge.domain.text import nfc
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import add_outbox
from postal_bridge.services.outbox import GiveUp, LeaseLost, RetryLater, complete, handles

log = logging.getLogger("postal_bridge.sms")

WINDOW = timedelta(hours=24)
STATUS_EVENTS = frozenset(s.value for s in Status)  # template events that are consignment statuses
PARAMS = frozenset({"code", "valid_minutes", "date", "post_office", "hotline"})
RESULT_READY_EARLY = "result_ready_early"


@dataclass(frozen=True)
class SmsPreview:
    """What the citizen will receive for one event: the exact text and its length (the counter page shows both)."""

    event: str
    text: str
    length: SmsLength
    skip_reason: str | None = None  # why it will not be sent (landline, SMS off…), or None


_last_stamp = 0
_stamp_lock = threading.Lock()


def new_message_id() -> str:
    """Our message id, also the request id the gateway deduplicates on: 32 hex characters, 14 of them a
    microsecond stamp that only grows within a process (so messages queued in one instant keep their order), then
    72 random bits."""
    global _last_stamp  # one counter per process, under the lock
    with _stamp_lock:
        _last_stamp = max(_last_stamp + 1, time.time_ns() // 1000)
        stamp = _last_stamp
    return f"{stamp:014x}{secrets.token_hex(9)}"


# --------------------------------------------------------------------------------------------------------------------
# Queueing


def queue_sms(
    uow: UnitOfWork,
    deps: Deps,
    *,
    consignment: Consignment,
    event: str,
    params: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    urgent: bool = False,
) -> int | None:
    """Store the message for ``event`` and its outbox row in the caller's transaction; returns the outbox id to wake.

    ``None`` when nothing is to be sent: the ``dedupe_key`` was already used (nothing stored), or the message was
    stored as ``skipped`` (see the module docstring). ``params``: ``code`` (6 digits) and ``valid_minutes`` for
    ``otp``; ``date``, ``post_office``, ``hotline`` override what is known from the consignment. One-time codes are
    always urgent: they go out at once, whatever the hour. Raises ``ValidationFailed`` for an unknown event or bad
    params (nothing stored).
    """
    c = consignment
    values = _check_params(event, c, params)
    urgent = urgent or event == OTP_EVENT
    if dedupe_key and uow.sms.has_dedupe_key(dedupe_key):
        return None
    now = deps.clock.now()
    settings = uow.sms.settings(c.agency_id)
    agency = uow.agencies.get(c.agency_id)
    text, reason = "", None
    try:
        text = render_sms(event, _context(deps, c, agency, settings, event, values))
    except ValueError as exc:  # an absurd base URL is refused at start-up; this keeps a status change going
        reason = f"the text cannot fit in one SMS: {exc}"
    reason = reason or skip_reason(uow, deps, c, settings, event=event, now=now)
    message = SmsMessage(
        id=new_message_id(),
        phone=c.citizen.phone.e164,
        text=text,
        event=event,
        created_at=now,
        scheduled_at=now if urgent else next_send_time(now),
        consignment_id=c.id,
        agency_id=c.agency_id,
        dedupe_key=dedupe_key,
        parts=sms_length(text).parts,
        status=SmsStatus.SKIPPED if reason else SmsStatus.QUEUED,
        error=reason,
    )
    if not uow.sms.add(message):
        return None
    if reason:
        log.info("sms skipped", extra={"consignment_id": c.id, "event": event, "reason": reason})
        return None
    return add_outbox(
        uow,
        OutboxKind.SEND_SMS,
        now=now,
        not_before=message.scheduled_at,
        consignment_id=c.id,
        payload={"message_id": message.id},
        # A consignment's notices go out in order; a one-time code never waits behind a deferred notice.
        ordering_key=None if urgent else f"sms:{c.id}",
    )


def queue_for_events(uow: UnitOfWork, deps: Deps, c: Consignment, events: Sequence[ConsignmentEvent]) -> list[int]:
    """One message per new status change that has a template for the consignment's kind (``record_effects``).

    "Out for delivery" is left out when a later change came in the same batch (a poll that found the item already
    delivered must not announce a delivery that is over).
    """
    templated = set(events_for_kind(c.kind.value)) & STATUS_EVENTS
    ids: list[int] = []
    for i, event in enumerate(events):
        status = event.status.value
        if status not in templated:
            continue
        if event.status == Status.OUT_FOR_DELIVERY and i < len(events) - 1:
            continue
        outbox_id = queue_sms(uow, deps, consignment=c, event=status, dedupe_key=f"{c.id}:{status}:{event.seq}")
        if outbox_id is not None:
            ids.append(outbox_id)
    return ids


def queue_result_ready_early(uow: UnitOfWork, deps: Deps, c: Consignment, *, ready_at: datetime) -> int | None:
    """NĐ 61/2018 Art 20.4: a result ready before its appointment date is announced to the citizen (once)."""
    appointment = c.dossier.appointment_date
    if c.kind != Kind.RETURN or appointment is None or local_date(ready_at) >= appointment:
        return None
    return queue_sms(uow, deps, consignment=c, event=RESULT_READY_EARLY, dedupe_key=f"{c.id}:{RESULT_READY_EARLY}")


def _check_params(event: str, c: Consignment, params: dict[str, Any] | None) -> dict[str, Any]:
    if not has_template(event, c.kind.value):
        raise ValidationFailed({"event": [f"No SMS is sent for {event!r} of a {c.kind.value} consignment."]})
    values = dict(params or {})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(values) - PARAMS):
        errors[f"params.{key}"] = [f"Unknown; allowed: {', '.join(sorted(PARAMS))}."]
    code = values.get("code")
    if event == OTP_EVENT and not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
        errors["params.code"] = ["A one-time code of exactly 6 digits is required."]
    minutes = values.get("valid_minutes")
    if minutes is not None and not (isinstance(minutes, int) and 1 <= minutes <= 60):
        errors["params.valid_minutes"] = ["Must be a whole number of minutes between 1 and 60."]
    when = values.get("date")
    if isinstance(when, str):
        try:
            values["date"] = date.fromisoformat(when)
        except ValueError:
            errors["params.date"] = ["Must be a date, YYYY-MM-DD."]
    elif when is not None and not isinstance(when, date):
        errors["params.date"] = ["Must be a date, YYYY-MM-DD."]
    if errors:
        raise ValidationFailed(errors)
    return values


def sms_capable(deps: Deps, e164: str) -> bool:
    """A mobile number (``adapters/phones.py`` when wired: libphonenumber's metadata), never a landline."""
    if not e164:
        return False
    if deps.phones is not None:
        try:
            return deps.phones.parse(e164).can_receive_sms
        except ValueError:
            return False
    return Phone(e164).is_mobile


def skip_reason(
    uow: UnitOfWork | None,
    deps: Deps,
    c: Consignment,
    settings: SmsSettings | None,
    *,
    event: str,
    now: datetime,
) -> str | None:
    """Why a message to this consignment's citizen must not go out now, or ``None``. ``uow`` None: no limit check."""
    if deps.sms is None:
        return "SMS is turned off for this installation (POSTAL_BRIDGE_SMS_GATEWAY=off)"
    if settings is not None and not settings.enabled:
        return "SMS is turned off for this agency"
    if c.personal_data_purged_at is not None:
        return "the citizen's personal data was purged"
    if not sms_capable(deps, c.citizen.phone.e164):
        return "the citizen's number cannot receive SMS (a landline)"
    if uow is not None and event != OTP_EVENT:
        sent = uow.sms.count_recent(c.citizen.phone.e164, since=now - WINDOW, exclude_events=(OTP_EVENT,))
        if sent >= deps.sms_max_per_day:
            return f"limit of {deps.sms_max_per_day} messages per number in 24 hours reached"
    return None


def _context(
    deps: Deps,
    c: Consignment,
    agency: Agency | None,
    settings: SmsSettings | None,
    event: str,
    values: dict[str, Any],
) -> SmsContext:
    office_name, office_phone = None, None
    if c.post_office_code and deps.post_offices is not None:
        office = deps.post_offices.get(c.post_office_code)
        if office is not None:
            office_name, office_phone = office.name, office.phone or None
    agency_line = (settings.hotline if settings else None) or (agency.phone if agency else None)
    # After a failed delivery the post office is the one to call; otherwise the one-stop centre.
    hotline = (office_phone if event == "delivery_failed" else None) or agency_line
    return SmsContext(
        sender=(settings.sender if settings else None) or deps.sms_brandname or (agency.code if agency else "HCC"),
        link=deps.tracking_url(c.tracking_token),
        kind=c.kind.value,
        tracking_code=c.tracking_code,
        post_office=values.get("post_office") or office_name,
        hotline=values.get("hotline") or (_display(hotline) if hotline else None),
        date=values.get("date") or _event_date(deps, c, event),
        code=values.get("code"),
        valid_minutes=values.get("valid_minutes"),
    )


def _display(e164: str) -> str:
    try:
        return Phone(e164).display if e164.startswith("+84") else e164
    except (IndexError, ValueError):
        return e164


def _event_date(deps: Deps, c: Consignment, event: str) -> date | None:
    """The date a template states: collect by (invitations: the last failure + 4 working days), or the appointment."""
    if event in ("delivery_failed", "available_for_pickup"):
        failed = [e for e in c.events if e.status == Status.DELIVERY_FAILED] or [
            e for e in c.events if e.status == Status.AVAILABLE_FOR_PICKUP
        ]
        if not failed or deps.calendar is None:
            return None
        return deps.calendar.add_working_days(local_date(failed[-1].occurred_at), INVITATION_WORKING_DAYS)
    if event in ("delivered", RESULT_READY_EARLY):
        return c.dossier.appointment_date if (event == RESULT_READY_EARLY or c.kind == Kind.PICKUP) else None
    return None


# --------------------------------------------------------------------------------------------------------------------
# Preview (counter page)


def preview_sms(deps: Deps, consignment: Consignment) -> list[SmsPreview]:
    """Every message the citizen may receive for this consignment, in lifecycle order, with its exact text now.

    Works on a consignment not stored yet (nothing is read but the agency and its SMS settings). Events that only
    happen on some journeys (a failed delivery, a return to the agency, an early result) are listed too.
    """
    c = consignment
    with deps.uow() as uow:
        settings = uow.sms.settings(c.agency_id)
        agency = uow.agencies.get(c.agency_id)
    reason = skip_reason(None, deps, c, settings, event="booked", now=deps.clock.now())
    out = []
    for event in events_for_kind(c.kind.value):
        if event == RESULT_READY_EARLY and (c.status != Status.AWAITING_RESULT or not c.dossier.appointment_date):
            continue
        try:
            text = render_sms(event, _context(deps, c, agency, settings, event, {}))
        except ValueError as exc:
            out.append(SmsPreview(event, "", sms_length(""), f"the text cannot fit in one SMS: {exc}"))
            continue
        out.append(SmsPreview(event, text, sms_length(text), reason))
    return out


def messages_of(deps: Deps, consignment_id: str) -> list[SmsMessage]:
    """The messages queued, sent or skipped for one consignment, oldest first (for staff pages)."""
    with deps.uow() as uow:
        return uow.sms.for_consignment(consignment_id)


# --------------------------------------------------------------------------------------------------------------------
# Sending (outbox)


@handles(OutboxKind.SEND_SMS)
def send(deps: Deps, item: OutboxItem) -> list[int]:
    message_id = item.payload["message_id"]
    now = deps.clock.now()
    with deps.uow() as uow:
        message = uow.sms.get(message_id)
        if message is None or message.status != SmsStatus.QUEUED:  # sent by an earlier run, or settled
            complete(uow, item, deps)
            uow.commit()
            return []
        reason = _reason_at_send_time(uow, deps, message, now)
        if reason:
            uow.sms.settle(message_id, status=SmsStatus.SKIPPED, error=reason, at=now)
            complete(uow, item, deps)
            uow.commit()
            log.info("sms skipped at send time", extra={"sms_id": message_id, "reason": reason})
            return []
        if not message.urgent and not in_sending_hours(now):  # relayed late, or a retry fell into the night
            at = next_send_time(now)
            uow.sms.reschedule(message_id, at=at)
            assert item.id is not None
            if not uow.outbox.retry_later(item.id, attempt=item.attempts, next_attempt_at=at, error="quiet hours"):
                raise LeaseLost(item.id)
            uow.commit()
            return []
    assert deps.sms is not None  # checked by _reason_at_send_time
    try:
        result = deps.sms.send(message)
    except SmsError as exc:
        last_try = item.attempts > len(deps.courier_schedule)
        if exc.transient and not last_try:
            with deps.uow() as uow:
                uow.sms.reschedule(message_id, at=message.scheduled_at, error=exc.message)
                uow.commit()
            raise RetryLater(exc.message, after_seconds=exc.retry_after) from None
        with deps.uow() as uow:
            uow.sms.settle(message_id, status=SmsStatus.FAILED, error=exc.message, at=deps.clock.now())
            uow.commit()
        log.warning("sms failed", extra={"sms_id": message_id, "gateway": exc.gateway, "code": exc.code})
        raise GiveUp(exc.message) from None
    with deps.uow() as uow:  # committed on its own: even if our lease was lost, no other run sends it again
        uow.sms.mark_sent(
            message_id, gateway=result.gateway, gateway_message_id=result.gateway_message_id, at=deps.clock.now()
        )
        uow.commit()
    with deps.uow() as uow:
        complete(uow, item, deps)
        uow.commit()
    return []


def _reason_at_send_time(uow: UnitOfWork, deps: Deps, message: SmsMessage, now: datetime) -> str | None:
    """Settings may have changed since the message was queued; a stale notice is worse than none."""
    if deps.sms is None:
        return "SMS is turned off for this installation (POSTAL_BRIDGE_SMS_GATEWAY=off)"
    if message.agency_id:
        settings = uow.sms.settings(message.agency_id)
        if settings is not None and not settings.enabled:
            return "SMS is turned off for this agency"
    if not message.phone:
        return "the citizen's personal data was purged"
    return message.expired(now)


# --------------------------------------------------------------------------------------------------------------------
# Delivery reports


def receive_report(deps: Deps, gateway: str, secret: str, request: SmsReportRequest) -> tuple[int, dict[str, Any]]:
    """``/webhooks/sms/<gateway>/<secret>``: (HTTP status, JSON body). 404 unless it is our gateway and our secret."""
    expected = deps.sms_callback_secret
    if (
        deps.sms is None
        or gateway != deps.sms.name
        or not expected
        or not hmac.compare_digest(secret.encode("utf-8"), expected.encode("utf-8"))
    ):
        return 404, {"ok": False, "error": "not found"}
    try:
        reports = deps.sms.parse_reports(request)
    except SmsReportInvalid as exc:
        return 400, {"ok": False, "error": str(exc)[:200]}
    now = deps.clock.now()
    changed = 0
    with deps.uow() as uow:
        for report in reports:
            message = uow.sms.get(report.message_id) if report.message_id else None
            if message is None and report.gateway_message_id:
                message = uow.sms.by_gateway_id(deps.sms.name, report.gateway_message_id)
            if message is None or report.status not in (SmsStatus.DELIVERED, SmsStatus.FAILED):
                continue  # an id we never sent, or "still on its way"
            changed += uow.sms.apply_report(message.id, status=report.status, error=report.error, at=now)
        uow.commit()
    return 200, {"ok": True, "updated": changed}


# --------------------------------------------------------------------------------------------------------------------
# Per-agency settings (CLI)


def sms_settings(deps: Deps, agency_code: str) -> tuple[Agency, SmsSettings]:
    """The agency's SMS settings, defaults filled in when none were stored."""
    with deps.uow() as uow:
        agency = uow.agencies.by_code(nfc(agency_code).upper())
        if agency is None:
            raise NotFound(f"No agency with code {agency_code!r}.")
        return agency, uow.sms.settings(agency.id) or SmsSettings(agency_id=agency.id)


def configure_sms(deps: Deps, *, agency_code: str, values: dict[str, str], actor: str | None = None) -> SmsSettings:
    """Store ``enabled`` (1/0), ``sender`` (≤ 11 characters) and ``hotline`` for an agency; ``key=`` clears a key.
    With ``actor`` the change is written to the audit log with the settings before and after."""
    agency, current = sms_settings(deps, agency_code)
    errors: dict[str, list[str]] = {}
    for key in sorted(set(values) - {"enabled", "sender", "hotline"}):
        errors[key] = ["Unknown setting; use enabled, sender or hotline."]
    enabled, sender, hotline = current.enabled, current.sender, current.hotline
    if "enabled" in values:
        flag = values["enabled"].strip().lower()
        if flag not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            errors["enabled"] = ["Must be 1 or 0."]
        enabled = flag in ("1", "true", "yes", "on")
    if "sender" in values:
        sender = values["sender"].strip() or None
        problem = check_sender(sender) if sender else None
        if problem:
            errors["sender"] = [f"The sender {problem}."]
    if "hotline" in values:
        raw = values["hotline"].strip()
        hotline = None
        if raw:
            try:
                hotline = parse_phone(raw).e164
            except ValueError as exc:
                errors["hotline"] = [str(exc)[0].upper() + str(exc)[1:] + "."]
    if errors:
        raise ValidationFailed(errors)
    settings = SmsSettings(
        agency_id=agency.id, enabled=enabled, sender=sender, hotline=hotline, updated_at=deps.clock.now()
    )
    with deps.uow() as uow:
        uow.sms.put_settings(settings)
        if actor:
            uow.audit.record(
                AuditEntry(
                    at=deps.clock.now(),
                    actor=actor,
                    action="sms.configured",
                    subject=f"agency:{agency.code}",
                    details={"before": public_sms_settings(current), "after": public_sms_settings(settings)},
                )
            )
        uow.commit()
    return settings


def public_sms_settings(settings: SmsSettings) -> dict[str, object]:
    return {"enabled": settings.enabled, "sender": settings.sender, "hotline": settings.hotline}
