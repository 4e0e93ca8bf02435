"""Signed callbacks to the dossier system (Standard Webhooks), delivered in order per consignment, at least once.

The outbox retries a failed callback on the webhook schedule (≈ 3 days, with jitter; ``Retry-After`` honoured for
429/502/503/504). Here the endpoint-level rules are applied:

* ``410 Gone`` disables the API key's callback endpoint: the item is dead-lettered, an alert is raised, and every
  later callback for that key is dead-lettered as "endpoint disabled" without a request, until an administrator
  replays them with ``reenable`` (``services.webhooks_admin.replay``).
* The last failure of the budget dead-letters the item with an alert (one open alert per endpoint).
* The callback URL is checked against the SSRF guard again at send time (after DNS resolution).
* During a secret rotation's overlap the message carries the new and the previous secret's signatures.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import NoReturn
from urllib.parse import urlsplit

from postal_bridge.domain.alerts import Alert, AlertKind, api_key_subject
from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.model import ApiKey, OutboxItem, OutboxKind
from postal_bridge.domain.webhooks import WebhookDelivery, signing_secrets
from postal_bridge.services.callbacks import check_callback_url
from postal_bridge.services.deps import Deps
from postal_bridge.services.outbox import GiveUp, RetryLater, complete, effect_only, handles, safe_reason

ENDPOINT_DISABLED = "endpoint disabled"


@handles(OutboxKind.NOTIFY_DOSSIER)
def deliver(deps: Deps, item: OutboxItem) -> list[int]:
    send(deps, item, {})
    with deps.uow() as uow:
        complete(uow, item, deps)
        uow.commit()
    return []


@effect_only(OutboxKind.NOTIFY_DOSSIER)
def send(deps: Deps, item: OutboxItem, memo: dict) -> None:
    """Send one callback; return on a 2xx, else raise ``RetryLater`` / ``GiveUp``. ``memo`` keeps, for a batch, each
    API key as read and its callback URL as checked (once per batch, not per callback: at most a few seconds old)."""
    key_id = item.payload["api_key_id"]
    if key_id not in memo:
        with deps.reader() as uow:
            memo[key_id] = (uow.api_keys.get(key_id), None)
    key, url_refused = memo[key_id]
    if key is None or key.revoked_at is not None or not key.callback_url:
        raise GiveUp("the API key's callback endpoint was removed or revoked")
    if key.callback_disabled_at is not None:  # no request: the receiver told us to stop
        raise GiveUp(
            f"{ENDPOINT_DISABLED} (410 Gone at {key.callback_disabled_at.isoformat()}); replay with re-enable to resend"
        )
    if url_refused is None:
        try:  # checked again at send time: DNS may have changed since the URL was saved
            check_callback_url(key.callback_url, resolve=deps.resolve_host, allow_private=deps.allow_private_callbacks)
            url_refused = ""
        except ValidationFailed as exc:
            url_refused = f"callback URL refused at send time: {exc.errors}"
        memo[key_id] = (key, url_refused)
    if url_refused:
        _failed(deps, item, key, url_refused)
    now = deps.clock.now()
    secrets = signing_secrets(key.webhook_secret, key.previous_webhook_secret, key.secret_rotated_at, now)
    result = deps.webhooks.send(
        WebhookDelivery(
            url=key.callback_url,
            secret=secrets[0],
            previous_secrets=secrets[1:],
            message_id=item.payload["message_id"],
            timestamp=int(now.timestamp()),
            body=item.payload["body"].encode("utf-8"),
        )
    )
    if result.ok:
        return
    if result.gone:
        _disable_endpoint(deps, item, key)
        memo[key_id] = (replace(key, callback_disabled_at=now), url_refused)  # the rest of the batch stays unsent
        raise GiveUp(f"the receiver answered 410 Gone; {ENDPOINT_DISABLED}")
    _failed(deps, item, key, result.error or f"HTTP {result.status_code}", after=result.retry_after_seconds)


def _failed(deps: Deps, item: OutboxItem, key: ApiKey, reason: str, *, after: int | None = None) -> NoReturn:
    """Retry on the schedule, or dead-letter with an alert when the budget is spent.

    The budget is spent after the schedule's last attempt, or once the callback is as old as the whole schedule
    (≈ 3 days): a callback that waited behind an earlier one of its consignment (they go out one at a time, in order)
    gets a single attempt then, not three more days.
    """
    budget = timedelta(seconds=sum(deps.webhook_schedule))
    age = deps.clock.now() - item.created_at
    if item.attempts <= len(deps.webhook_schedule) and age < budget:
        raise RetryLater(reason, after_seconds=after)
    reason = f"gave up after {item.attempts} attempts: {reason}"
    with deps.uow() as uow:
        uow.alerts.raise_once(
            Alert(
                at=deps.clock.now(),
                kind=AlertKind.WEBHOOK_DEAD,
                subject=api_key_subject(key.id),
                message=(
                    f"Callbacks to {_host(key.callback_url)} for API key {key.key_prefix}… ({key.name}) are being "
                    f"dead-lettered after about three days of failures (first: outbox #{item.id}, consignment "
                    f"{item.consignment_id}): {safe_reason(uow, item, reason)}. When the receiver is back: "
                    f"`postal-bridge webhooks replay --since {item.created_at.isoformat()}`."
                ),
            )
        )
        uow.commit()
    raise GiveUp(reason)


def _disable_endpoint(deps: Deps, item: OutboxItem, key: ApiKey) -> None:
    now = deps.clock.now()
    with deps.uow() as uow:
        uow.alerts.disable_callback(key.id, now)
        uow.alerts.raise_once(
            Alert(
                at=now,
                kind=AlertKind.WEBHOOK_ENDPOINT_DISABLED,
                subject=api_key_subject(key.id),
                message=(
                    f"The dossier system at {_host(key.callback_url)} answered 410 Gone to outbox #{item.id} "
                    f"(consignment {item.consignment_id}); callbacks for API key {key.key_prefix}… ({key.name}) are "
                    "disabled and later ones are dead-lettered unsent. Fix the endpoint, then replay with re-enable."
                ),
            )
        )
        uow.commit()


def _host(url: str | None) -> str:
    """The receiver's host for messages (a callback path may carry a token, so it is left out)."""
    return urlsplit(url or "").netloc or "?"
