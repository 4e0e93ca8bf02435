"""The scan page, its JSON endpoint for the page's batches and offline queue, and the service worker.

Without JavaScript the form posts one code and the page shows the result (POST-redirect-GET: the last results live in
the signed session cookie). With JavaScript, ``static/js/clerk/scan.js`` checks S10 codes locally, keeps every scan in
an IndexedDB queue with its ``client_event_id`` and original time, and posts the queue to ``POST /clerk/api/scans``
(``X-CSRFToken``); ``ingest_scans`` dedupes the event ids, so a retried upload changes nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import current_app, jsonify, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from postal_bridge.domain import s10
from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.scans import MAX_BATCH, ScanInput, ScanMode, ScanOutcome, ScanResult
from postal_bridge.services import scans
from postal_bridge.web import static_version
from postal_bridge.web.auth import translate_error
from postal_bridge.web.clerk import bp, clerk, clerk_json, clerk_page, deps
from postal_bridge.web.clerk.words import MODE_HINTS, MODES, OUTCOME_HEADLINES, OUTCOME_TONE, TONE_ICON
from postal_bridge.web.labels import status_label
from postal_bridge.web.security import CSP_WASM

RECENT = "clerk_recent"
RECENT_KEPT = 6
MAX_CODE = 500


def spaced(code: str) -> str:
    return s10.spaced(code) if code else ""


def result_view(r: ScanResult, session_id: str | None = None) -> dict[str, Any]:
    """A scan's answer as the page shows it, in the page's language: tone + icon + words, never colour alone."""
    tone = OUTCOME_TONE[r.outcome]
    item = r.item
    return {
        "client_event_id": r.client_event_id,
        "outcome": r.outcome.value,
        "tone": tone,
        "icon": TONE_ICON[tone],
        "headline": str(OUTCOME_HEADLINES[r.outcome]),
        "message": translate_error(r.message),
        "code": spaced(r.code),
        "status_before": status_label(r.status_before) if r.status_before else "",
        "status_after": status_label(r.status_after) if r.status_after else "",
        "moved": bool(r.status_before and r.status_after and r.status_before != r.status_after),
        "item_url": url_for("clerk.item", code=item.tracking_code) if item and item.tracking_code else "",
        "recipient": item.recipient if item else "",
        "area": item.area if item else "",
        "session_id": session_id or "",
    }


def remember(view: dict[str, Any]) -> None:
    """Keep the last results in the session for the page without JavaScript (a few, short)."""
    kept = [{k: (v[:240] if isinstance(v, str) else v) for k, v in view.items()}]
    kept += [v for v in session.get(RECENT, []) if v.get("client_event_id") != view["client_event_id"]]
    session[RECENT] = kept[:RECENT_KEPT]


def recent_for(session_id: str | None) -> list[dict[str, Any]]:
    return [v for v in session.get(RECENT, []) if (v.get("session_id") or "") == (session_id or "")]


def chosen_mode(value: str | None) -> ScanMode:
    try:
        mode = ScanMode(value or "")
    except ValueError:
        return ScanMode.ARRIVE
    return mode if mode in MODES else ScanMode.ARRIVE


def scan_strings() -> dict[str, Any]:
    """What the scripts say, in the page's language (a JSON data block: not a script, allowed by the CSP)."""
    return {
        "headlines": {o.value: str(OUTCOME_HEADLINES[o]) for o in ScanOutcome},
        "icons": TONE_ICON,
        "waiting": _("Chờ đồng bộ"),
        "waiting_message": _("Đã lưu trên máy; sẽ gửi khi có mạng."),
        "bad_check_digit": _("Sai số kiểm tra của mã S10 %(code)s; hãy quét hoặc nhập lại.", code="{code}"),
        "sign_in_again": _("Phiên đăng nhập đã hết: hãy đăng nhập lại, các lần quét vẫn được giữ trên máy."),
        "camera_starting": _("Đang bật camera…"),
        "camera_ready": _("Đưa mã vạch hoặc mã QR vào khung hình."),
        "camera_denied": _("Không bật được camera. Hãy cho phép dùng camera, hoặc nhập mã bằng tay."),
        "camera_unsupported": _("Trình duyệt này không đọc được mã vạch bằng camera; hãy dùng máy quét hoặc nhập mã."),
        "camera_read": _("Đã đọc: %(code)s", code="{code}"),
        "offline": _("Mất kết nối mạng: lần quét được lưu trên máy."),
    }


def _page(session_id: str | None = None, **context: Any):
    return render_template(
        "clerk/scan.html",
        modes=MODES,
        mode_hints=MODE_HINTS,
        mode=chosen_mode(request.args.get("mode")),
        new_event_id=str(uuid.uuid4()),
        strings=scan_strings(),
        recent=recent_for(session_id),
        last=_last(session_id),
        **context,
    )


def _last(session_id: str | None) -> dict[str, Any] | None:
    wanted = request.args.get("r")
    return next((v for v in recent_for(session_id) if wanted and v.get("client_event_id") == wanted), None)


def with_wasm(response):
    """The scan UI compiles the vendored barcode reader (WebAssembly): this page, and only such pages, allow it."""
    response = make_response(response)
    response.headers["Content-Security-Policy"] = CSP_WASM
    return response


@bp.get("/scan")
@clerk_page
def scan():
    clerk()
    return with_wasm(_page())


@bp.post("/scan")
@clerk_page
def scan_post():
    """One scan from the plain form (no JavaScript): stored, then shown on the page it came from."""
    caller = clerk()
    mode = request.form.get("mode") or ScanMode.ARRIVE.value
    session_id = (request.form.get("session_id") or "").strip() or None
    event_id = request.form.get("client_event_id") or str(uuid.uuid4())
    code = (request.form.get("code") or "")[:MAX_CODE]
    (result,) = scans.ingest_scans(deps(), caller, [ScanInput(event_id, code, deps().clock.now(), mode, session_id)])
    remember(result_view(result, session_id))
    if session_id and mode == ScanMode.HANDOVER:
        return redirect(url_for("clerk.handover", session_id=session_id, r=result.client_event_id) + "#scan", 303)
    return redirect(url_for("clerk.scan", mode=chosen_mode(mode).value, r=result.client_event_id), 303)


def _parse_time(value: object) -> datetime | object:
    """The device's original time (ISO 8601); anything else is passed on for the service to call invalid."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


@bp.post("/api/scans")
@clerk_json
def api_scans():
    """``{"scans": [{client_event_id, code, mode, scanned_at, session_id?}, …]}`` → ``{"results": [...]}``, one per
    scan in the same order. The same event ids again return their first results (the queue may retry)."""
    body = request.get_json(silent=True)
    items = body.get("scans") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return jsonify(error="invalid", message='Expected {"scans": [objects]}.'), 400
    if len(items) > MAX_BATCH:
        return jsonify(error="too_many", message=f"At most {MAX_BATCH} scans per upload."), 413
    inputs = [
        ScanInput(
            client_event_id=i.get("client_event_id") if isinstance(i.get("client_event_id"), str) else "",
            code=str(i.get("code") or "")[:MAX_CODE],
            scanned_at=_parse_time(i.get("scanned_at")),  # type: ignore[arg-type]
            mode=str(i.get("mode") or ""),
            session_id=i.get("session_id") or None,
        )
        for i in items
    ]
    try:
        results = scans.ingest_scans(deps(), clerk(), inputs)
    except ValidationFailed as exc:
        return jsonify(error="invalid", errors=exc.errors), 422
    return jsonify(results=[result_view(r, s.session_id) for r, s in zip(results, inputs, strict=True)])


@bp.get("/sw.js")
def service_worker():
    """The service worker (scope ``/clerk/``): the scan page and its files open without a network."""
    response = current_app.response_class(
        render_template(
            "clerk/sw.js", assets=offline_assets(), pages=[url_for("clerk.scan")], version=static_version()
        ),
        mimetype="text/javascript",
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


SCRIPTS = ("s10.js", "queue.js", "feedback.js", "camera.js", "scan.js")
VENDOR = ("barcode-detector/ponyfill.js", "barcode-detector/zxing-exported.js", "barcode-detector/zxing_reader.wasm")


def offline_assets() -> list[str]:
    """What the service worker keeps: our files with the same ``?v=`` the pages use, the vendored reader as is."""
    version = static_version()
    pinned = [url_for("static", filename="css/app.css"), url_for("static", filename="css/clerk.css")]
    pinned += [url_for("static", filename=f"js/clerk/{name}") for name in SCRIPTS]
    plain = [url_for("static", filename=f"vendor/{name}") for name in VENDOR]
    plain.append(url_for("static", filename="favicon.svg"))
    return [f"{u}?v={version}" for u in pinned] + plain
