"""Administration of the callbacks to the dossier system: list dead letters, replay them, rotate an endpoint's secret.

A replay puts dead ``NOTIFY_DOSSIER`` outbox rows back to pending with their attempts reset, keeping the **same**
``webhook-id`` (message id) and body, so a receiver that already processed one deduplicates it. Rows of an endpoint
disabled by ``410 Gone`` are replayed only when the endpoint is re-enabled in the same call (``reenable=True``);
otherwise they are left dead and counted as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from postal_bridge.domain.admin import scrub_error
from postal_bridge.domain.alerts import WebhookRecord
from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.model import OutboxState
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.webhooks import SECRET_OVERLAP, new_webhook_secret
from postal_bridge.services.deps import Deps

STATES = tuple(s.value for s in OutboxState)


@dataclass(frozen=True)
class ReplayResult:
    requeued: int
    skipped_disabled: int  # dead rows left alone: their endpoint is disabled (410) or their key revoked
    reenabled: int  # endpoints re-enabled by this replay


@dataclass(frozen=True)
class RotatedSecret:
    webhook_secret: str
    previous_valid_until: datetime | None  # the previous secret signs callbacks (as a second signature) until then


def list_webhooks(
    deps: Deps, *, state: str | None = OutboxState.DEAD.value, agency_id: str | None = None, limit: int = 100
) -> list[WebhookRecord]:
    """Callbacks in one state, oldest first, their error texts scrubbed of personal data (``scrub_error``)."""
    if state is not None and state not in STATES:
        raise ValidationFailed({"state": [f"Must be one of: {', '.join(STATES)}."]})
    with deps.uow() as uow:
        rows = uow.alerts.webhooks(state=state, agency_id=agency_id, limit=max(1, min(limit, 1000)))
        known = uow.admin.personal_strings([r.consignment_id for r in rows if r.last_error and r.consignment_id])
    # The error text as the outbox page shows it: no phone, e-mail, ID number, nor the citizen's name or street.
    return [replace(r, last_error=scrub_error(r.last_error, known=known.get(r.consignment_id or "", ()))) for r in rows]


def agency_id_for(deps: Deps, agency_code: str) -> str:
    with deps.uow() as uow:
        agency = uow.agencies.by_code(agency_code.upper())
    if agency is None:
        raise NotFound(f"No agency with code {agency_code!r}.")
    return agency.id


def replay(
    deps: Deps,
    *,
    ids: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    agency_id: str | None = None,
    reenable: bool = False,
) -> int:
    """Re-queue dead callbacks chosen by outbox id or by creation time (``since`` ≤ created < ``until``); how many."""
    return replay_result(deps, ids=ids, since=since, until=until, agency_id=agency_id, reenable=reenable).requeued


def replay_result(
    deps: Deps,
    *,
    ids: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    agency_id: str | None = None,
    reenable: bool = False,
) -> ReplayResult:
    _check_selection(ids, since, until)
    now = deps.clock.now()
    with deps.uow() as uow:
        rows = uow.alerts.webhooks(
            state=OutboxState.DEAD.value,
            ids=list(ids) if ids else None,
            since=since,
            until=until,
            agency_id=agency_id,
            limit=None,
        )
        chosen, unusable, reenabled = requeue_in(uow, rows, now=now, reenable=reenable)
        uow.commit()
    deps.wake(chosen)
    return ReplayResult(requeued=len(chosen), skipped_disabled=len(unusable), reenabled=reenabled)


def requeue_in(
    uow, rows: Sequence[WebhookRecord], *, now: datetime, reenable: bool
) -> tuple[list[int], list[int], int]:
    """Inside the caller's transaction: put the dead callbacks among ``rows`` whose endpoint can take them back to
    pending (re-enabling endpoints disabled by 410 Gone when asked). Returns (ids re-queued, ids left dead because
    their endpoint is unusable, endpoints re-enabled); a row another replay re-queued first is in neither list."""
    usable: dict[str, bool] = {}
    reenabled = 0
    for key_id in sorted({r.api_key_id for r in rows if r.api_key_id}):
        key = uow.api_keys.get(key_id)
        if key is None or key.revoked_at is not None or not key.callback_url:
            usable[key_id] = False
        elif key.callback_disabled_at is not None:
            usable[key_id] = reenable
            if reenable and uow.alerts.enable_callback(key_id):
                reenabled += 1
        else:
            usable[key_id] = True
    chosen = [r.id for r in rows if r.api_key_id and usable.get(r.api_key_id)]
    unusable = sorted(r.id for r in rows if r.id not in chosen)
    # Only rows still dead change: a replay racing this one re-queues each row once, whichever commits first, and
    # only the rows this call changed are reported (and audited) as re-queued by it.
    return uow.alerts.requeue_webhooks(chosen, now=now), unusable, reenabled


def _check_selection(ids: Sequence[int] | None, since: datetime | None, until: datetime | None) -> None:
    if ids and (since or until):
        raise ValidationFailed({"ids": ["Give either ids or a time range (since, until), not both."]})
    if not ids and since is None:
        raise ValidationFailed({"since": ["Give the outbox ids to replay, or a time range starting at `since`."]})
    if until is not None and since is None:
        raise ValidationFailed({"since": ["`until` needs `since`."]})
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed({name: ["Must carry a time zone (e.g. 2026-11-20T09:00:00+07:00)."]})
    if since is not None and until is not None and until <= since:
        raise ValidationFailed({"until": ["Must be after `since`."]})


def parse_time(value: str | datetime | None, field: str) -> datetime | None:
    """An ISO 8601 time; without an offset it is taken as UTC."""
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed({field: [f"Not an ISO 8601 time: {value!r}."]}) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def replay_cli(
    deps: Deps,
    *,
    ids: Sequence[int] | None,
    since: str | datetime | None,
    until: str | datetime | None,
    reenable: bool = False,
    echo: Callable[[str], object] = print,
) -> int:
    """``postal-bridge webhooks replay --id ID … | --since ISO-TIME [--until ISO-TIME] [--reenable]``.

    Prints how many callbacks were re-queued (and why any were left dead); returns the number re-queued. Bad input
    raises ``ValidationFailed`` (the command turns it into one line on stderr and a non-zero exit).
    """
    result = replay_result(
        deps,
        ids=list(ids) if ids else None,
        since=parse_time(since, "since"),
        until=parse_time(until, "until"),
        reenable=reenable,
    )
    echo(f"re-queued {result.requeued} callback(s)")
    if result.reenabled:
        echo(f"re-enabled {result.reenabled} endpoint(s)")
    if result.skipped_disabled:
        echo(
            f"left {result.skipped_disabled} dead: their endpoint is disabled (410 Gone) or their key revoked; "
            "add --reenable once the receiver is fixed"
        )
    return result.requeued


def rotate_secret(deps: Deps, api_key_id: str, *, overlap_hours: int = 24) -> str:
    """A new webhook secret for the key; the old one keeps signing as a second signature for the overlap."""
    return rotate_secret_details(deps, api_key_id, overlap_hours=overlap_hours).webhook_secret


def rotate_secret_details(
    deps: Deps, api_key_id: str, *, overlap_hours: int = 24, actor: str | None = None
) -> RotatedSecret:
    """As ``rotate_secret``, with when the previous secret stops signing; with ``actor`` written to the audit log
    (the secrets never are)."""
    standard = int(SECRET_OVERLAP.total_seconds() // 3600)
    if overlap_hours not in (0, standard):
        # The end of the overlap is derived from api_keys.secret_rotated_at, so only the standard window (or none) is
        # possible without storing the end itself.
        raise ValidationFailed(
            {"overlap_hours": [f"Must be {standard} (the standard overlap) or 0 (retire the old secret at once)."]}
        )
    now = deps.clock.now()
    secret = new_webhook_secret()
    with deps.uow() as uow:
        key = uow.api_keys.get(api_key_id)
        if key is None or key.revoked_at is not None:
            raise NotFound(f"No active API key with id {api_key_id!r}.")
        uow.alerts.rotate_webhook_secret(key.id, new_secret=secret, at=now)
        if overlap_hours == 0:
            uow.alerts.retire_previous_secret(key.id)
        until = now + timedelta(hours=overlap_hours) if overlap_hours else None
        if actor:
            before = {"secret_rotated_at": key.secret_rotated_at.isoformat() if key.secret_rotated_at else None}
            after = {
                "secret_rotated_at": now.isoformat(),
                "previous_secret_valid_until": until.isoformat() if until else None,
            }
            uow.audit.record(
                AuditEntry(
                    at=now,
                    actor=actor,
                    action="api_key.secret_rotated",
                    subject=f"api_key:{key.id}",
                    details={"before": before, "after": after},
                )
            )
        uow.commit()
    return RotatedSecret(webhook_secret=secret, previous_valid_until=until)
