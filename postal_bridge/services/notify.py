"""Signed callbacks to the dossier system (Standard Webhooks), delivered in order per consignment, at least once."""

from __future__ import annotations

from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.model import OutboxItem, OutboxKind
from postal_bridge.domain.webhooks import WebhookDelivery
from postal_bridge.services.callbacks import check_callback_url
from postal_bridge.services.deps import Deps
from postal_bridge.services.outbox import GiveUp, RetryLater, complete, handles


@handles(OutboxKind.NOTIFY_DOSSIER)
def deliver(deps: Deps, item: OutboxItem) -> list[int]:
    with deps.uow() as uow:
        key = uow.api_keys.get(item.payload["api_key_id"])
    if key is None or key.revoked_at is not None or not key.callback_url:
        raise GiveUp("the API key's callback endpoint was removed or revoked")
    try:  # checked again at send time: DNS may have changed since the URL was saved
        check_callback_url(key.callback_url, resolve=deps.resolve_host, allow_private=deps.allow_private_callbacks)
    except ValidationFailed as exc:
        raise RetryLater(f"callback URL refused at send time: {exc.errors}") from exc
    result = deps.webhooks.send(
        WebhookDelivery(
            url=key.callback_url,
            secret=key.webhook_secret,
            message_id=item.payload["message_id"],
            timestamp=int(deps.clock.now().timestamp()),
            body=item.payload["body"].encode("utf-8"),
        )
    )
    if result.ok:
        with deps.uow() as uow:
            complete(uow, item, deps)
            uow.commit()
        return []
    if result.gone:
        raise GiveUp("the receiver answered 410 Gone")
    raise RetryLater(result.error or f"HTTP {result.status_code}", after_seconds=result.retry_after_seconds)
