"""The request screen (``/counter``) and the one-action print (``/counter/print``)."""

from __future__ import annotations

import io
import secrets
import time
from typing import Any

from flask import Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.errors import IdempotencyKeyReused, ValidationFailed
from postal_bridge.services import addresses
from postal_bridge.services import counter as svc
from postal_bridge.web.auth import agency_caller, require_role
from postal_bridge.web.counter import ROLES, bp, deps, translated

REFRESH_SECONDS = 2
DEFAULT_CHOICE = {"return": "return", "pickup": "pickup", "both": "both"}


def new_nonce() -> str:
    """One per request form: the Idempotency-Keys of what the form books are derived from it."""
    return secrets.token_urlsafe(16)


def read_form() -> svc.RequestForm:
    f = request.form
    phone = f.get("citizen_phone_fix") or f.get("citizen_phone", "")  # "use the new 10-digit number"
    return svc.RequestForm(
        dossier_code=f.get("dossier_code", ""),
        choice=f.get("choice", ""),
        courier=f.get("courier", ""),
        weight_g=f.get("weight_g") or str(svc.DEFAULT_WEIGHT_G),
        result_ready=f.get("result_ready") == "1",
        citizen_name=f.get("citizen_name", ""),
        citizen_phone=phone,
        address_line=f.get("address_line", ""),
        province_code=f.get("province_code", ""),
        ward_code=f.get("ward_code", ""),
        ward_query=f.get("ward_query", ""),
        address_text=f.get("address_text", ""),
        procedure_name=f.get("procedure_name", ""),
        appointment_date=f.get("appointment_date", ""),
    )


def _page(found: svc.Lookup | None, form: svc.RequestForm, *, nonce: str, status: int = 200, **extra: Any):
    manual = found is not None and (found.snapshot is None or found.snapshot.purged)
    context: dict[str, Any] = {
        "found": found,
        "form": form,
        "nonce": nonce,
        "manual": manual,
        "errors": {},
        "shown": None,
        "address": None,
        "options": [],
        "unavailable": {},
        "provinces": addresses.provinces(deps()) if manual else [],
        "suggested_phone": None,
    }
    context.update(extra)
    shown = context["shown"]
    if shown is not None:
        context.update(address=shown.address, options=shown.options, unavailable=shown.unavailable)
    return render_template("counter/new.html", **context), status


def _preview(who, form: svc.RequestForm, found: svc.Lookup, nonce: str, *, status_ok: int = 200):
    try:
        shown = svc.preview(deps(), who, form, found)
    except svc.RequestInvalid as exc:
        return _invalid(found, form, nonce, exc)
    return _page(found, form, nonce=nonce, status=status_ok, shown=shown)


def _invalid(found: svc.Lookup, form: svc.RequestForm, nonce: str, exc: svc.RequestInvalid):
    raw_phone = " ".join(exc.errors.get("citizen_phone", []))
    suggested = None
    if "old 11-digit number" in raw_phone:
        suggested = raw_phone.rsplit("it is ", 1)[-1].rstrip(".").strip()
    return _page(
        found,
        form,
        nonce=nonce,
        status=422,
        errors=translated(exc.errors),
        address=exc.address,
        options=exc.options,
        unavailable=exc.unavailable,
        suggested_phone=suggested,
    )


@bp.get("/new")
@bp.get("")  # registered first (decorators apply bottom-up): url_for gives the contract's /counter
@require_role(*ROLES)
def new():
    """Scan or type the dossier code (a scanner types it and presses Enter: this GET form), then the request."""
    who = agency_caller()
    code = request.args.get("code", "")
    without_code = request.args.get("without_code") == "1"
    if not code.strip() and not without_code:
        return _page(None, svc.RequestForm(), nonce="")
    try:
        found = svc.lookup(deps(), who, code)
    except ValidationFailed as exc:
        return _page(None, svc.RequestForm(dossier_code=code), nonce="", status=422, errors=translated(exc.errors))
    s = found.snapshot
    preferred = s.preference.value if s is not None else ""
    choice = DEFAULT_CHOICE.get(preferred, "return" if found.code else "pickup")
    form = svc.RequestForm(dossier_code=found.code, choice=choice)
    nonce = new_nonce()
    if s is not None and not s.purged:  # everything is known: show the prices and the texts at once
        return _preview(who, form, found, nonce)
    return _page(found, form, nonce=nonce)


@bp.post("/new")
@require_role(*ROLES)
def submit():
    """``action=preview`` (also the ward and address search) shows the request again; ``action=book`` books it and
    goes on to printing (303), or shows it again with its errors (nothing booked)."""
    who = agency_caller()
    form = read_form()
    nonce = request.form.get("nonce", "")
    try:
        found = svc.lookup(deps(), who, form.dossier_code, audit=False)
    except ValidationFailed as exc:
        return _page(None, form, nonce="", status=422, errors=translated(exc.errors))
    if request.form.get("action") != "book":
        return _preview(who, form, found, nonce)
    try:
        booked = svc.book(deps(), who, form, found, nonce)
    except svc.RequestInvalid as exc:
        return _invalid(found, form, nonce, exc)
    except ValidationFailed as exc:
        return _page(found, form, nonce=nonce, status=422, errors=translated(exc.errors))
    except IdempotencyKeyReused:
        message = _("Yêu cầu này đã được đặt với nội dung khác. Hãy mở một yêu cầu mới để đặt thêm bưu gửi.")
        return _page(found, form, nonce=nonce, status=409, errors={"_form": [message]})
    return redirect(url_for("counter.print_documents", id=booked.ids), code=303)


@bp.get("/print")
@require_role(*ROLES)
def print_documents():
    """The labels + Phiếu gửi as one PDF when every one is booked; until then a page that refreshes itself.

    The courier usually answers within a second or two, so the request first waits a little for the tracking codes
    (``COUNTER_PRINT_WAIT_SECONDS``, default 3). The waiting page then reloads itself every few seconds through the
    HTTP ``Refresh`` header — what ``<meta http-equiv="refresh">`` stands for, but outside the document, where axe
    would count a timed refresh as a critical failure of WCAG 2.2.1 — and offers a link that stops it (``wait=0``).
    """
    who = agency_caller()
    ids = request.args.getlist("id")
    auto = request.args.get("wait") != "0"
    docs = svc.documents(deps(), who, ids)
    deadline = time.monotonic() + (float(current_app.config.get("COUNTER_PRINT_WAIT_SECONDS", 3.0)) if auto else 0)
    while docs.waiting and time.monotonic() < deadline:
        time.sleep(0.25)
        docs = svc.documents(deps(), who, ids)
    if docs.ready:
        return Response(
            merge_pdfs(docs.parts),
            mimetype="application/pdf",
            headers={"Content-Disposition": 'inline; filename="nhan-va-phieu-gui.pdf"', "Cache-Control": "no-store"},
        )
    page = render_template(
        "counter/preparing.html",
        docs=docs,
        print_url=url_for("counter.print_documents", id=ids),
        stop_url=url_for("counter.print_documents", id=ids, wait=0),
        auto=auto and bool(docs.waiting),
        refresh=REFRESH_SECONDS,
    )
    headers = {"Refresh": str(REFRESH_SECONDS)} if auto and docs.waiting else {}
    return page, 200, headers


def merge_pdfs(parts: list[bytes]) -> bytes:
    """One document, in order, so a single print prints everything (pypdf, pure Python)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    out = io.BytesIO()
    writer.write(out)
    writer.close()
    return out.getvalue()
