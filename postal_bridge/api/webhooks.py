"""``POST /webhooks/carriers/<carrier>[/<path_token>]``: courier pushes, authenticated the way each courier does it,
stored raw first and answered fast; folding into consignments happens on a worker.

``/webhooks/sms/<gateway>/<secret>``: SMS delivery reports, authenticated by the secret path segment (compared in
constant time); each updates one message's status and nothing else.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from postal_bridge.api.auth import deps
from postal_bridge.domain.carriers import WebhookRequest
from postal_bridge.domain.sms import SmsReportRequest
from postal_bridge.services.carriers import receive_webhook
from postal_bridge.services.sms import receive_report

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


@bp.route("/webhooks/sms/<gateway>/<secret>", methods=["GET", "POST"])
def sms_report(gateway: str, secret: str) -> Response:
    """A gateway's delivery report (eSMS calls back with GET and query parameters, SpeedSMS POSTs JSON)."""
    report = SmsReportRequest(
        method=request.method,
        query=request.args.to_dict(),
        body=request.get_data(cache=False)[:MAX_WEBHOOK_BYTES],
        content_type=request.mimetype or "",
    )
    status, payload = receive_report(deps(), gateway, secret, report)
    return Response(json.dumps(payload), status=status, content_type="application/json")
