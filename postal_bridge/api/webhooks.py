"""``POST /webhooks/carriers/<carrier>[/<path_token>]``: courier pushes, authenticated the way each courier does it,
stored raw first and answered fast; folding into consignments happens on a worker."""

from __future__ import annotations

from flask import Blueprint, Response, request

from postal_bridge.api.auth import deps
from postal_bridge.domain.carriers import WebhookRequest
from postal_bridge.services.carriers import receive_webhook

bp = Blueprint("carrier_webhooks", __name__)
MAX_WEBHOOK_BYTES = 256 * 1024


@bp.post("/webhooks/carriers/<carrier>")
@bp.post("/webhooks/carriers/<carrier>/<path_token>")
def carrier_webhook(carrier: str, path_token: str | None = None) -> Response:
    body = request.get_data(cache=False)[:MAX_WEBHOOK_BYTES]
    req = WebhookRequest(
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query=request.args.to_dict(),
        remote_addr=request.remote_addr,
        content_type=request.mimetype or "",
        path_token=path_token,
    )
    status, content_type, payload = receive_webhook(deps(), carrier, req)
    return Response(payload, status=status, content_type=content_type)
