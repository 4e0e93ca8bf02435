"""The worklist (``/clerk``) and one item's page (``/clerk/items/<code>``) with its outcome buttons.

Each outcome form carries a ``client_event_id`` made when the page was drawn, so a double tap or a resent form records
the outcome once (the services are idempotent by it). Errors are shown next to their fields and change nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.outcomes import FailureReason, IdType, Receiver, ReturnReason, reasons_for
from postal_bridge.domain.scans import Action, ScanInput, ScanMode, ScanOutcome, ScanResult
from postal_bridge.domain.sla import local_date
from postal_bridge.domain.status import Kind
from postal_bridge.services import outcomes, scans, worklist
from postal_bridge.web.auth import translate_error
from postal_bridge.web.clerk import bp, clerk, clerk_page, deps
from postal_bridge.web.clerk.scan import remember, result_view

# The scan steps an item page offers as buttons (the outcome forms are separate).
STEP_ACTIONS = {
    Action.ARRIVE: ScanMode.ARRIVE,
    Action.OUT_FOR_DELIVERY: ScanMode.OUT_FOR_DELIVERY,
    Action.COLLECT: ScanMode.COLLECT,
}


@bp.get("", endpoint="worklist")
@clerk_page
def worklist_page():
    caller = clerk()
    day = local_date(deps().clock.now())
    work = worklist.clerk_worklist(deps(), caller, day=day)
    sessions = worklist.open_sessions(deps(), caller)
    return render_template("clerk/worklist.html", work=work, sessions=sessions, day=day)


@bp.get("/find")
@clerk_page
def find():
    """The worklist's "find an item" box: to the item's page, or back with the reason."""
    code = (request.args.get("code") or "").strip()
    found = scans.lookup(deps(), clerk(), code)
    if found.item is None or not found.item.tracking_code:
        flash(translate_error(found.message), "error")
        return redirect(url_for("clerk.worklist"), 303)
    return redirect(url_for("clerk.item", code=found.item.tracking_code), 303)


def _lookup(code: str) -> ScanResult:
    """The item behind a code, for this clerk's office; 404 otherwise (another office's item looks unknown)."""
    found = scans.lookup(deps(), clerk(), code)
    if found.outcome != ScanOutcome.ACCEPTED or found.item is None:
        abort(404)
    return found


def _item_page(
    found: ScanResult,
    *,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    opened: str | None = None,
    form: dict[str, str] | None = None,
    problem: str | None = None,
):
    item = found.item
    assert item is not None
    actions = set(item.next_actions)
    kind = Kind(item.kind)
    return render_template(
        "clerk/item.html",
        found=found,
        item=item,
        can_deliver=Action.DELIVERED.value in actions,
        can_fail=Action.FAILED.value in actions,
        can_return=Action.RETURN_TO_AGENCY.value in actions,
        # (action, mode, event id): each step button its own UUID, so a double tap records the step once
        steps=[(a, m, str(uuid.uuid4())) for a, m in STEP_ACTIONS.items() if a.value in actions],
        handover_next=[a for a in (Action.HANDOVER_TO_POST, Action.HANDOVER_TO_AGENCY) if a.value in actions],
        failure_reasons=[FailureReason(r.code) for r in reasons_for(kind)],
        return_reasons=list(ReturnReason),
        receivers=list(Receiver),
        id_types=list(IdType),
        errors=errors or {},
        opened=opened,
        form=form or {},
        problem=problem,
        event_id=str(uuid.uuid4()),
    ), status


@bp.get("/items/<code>")
@clerk_page
def item(code: str):
    return _item_page(_lookup(code))


def _fields(errors: dict[str, Any]) -> dict[str, list[str]]:
    return {k: [translate_error(str(m)) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}


def _record(code: str, which: str, call):
    found = _lookup(code)
    assert found.item is not None
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        result = call(found.item.consignment_id, form)
    except ValidationFailed as exc:
        return _item_page(found, status=422, errors=_fields(exc.errors), opened=which, form=form)
    except Conflict as exc:
        return _item_page(found, status=409, opened=which, form=form, problem=translate_error(exc.message))
    except NotFound:
        abort(404)
    flash(translate_error(result.message), "success")
    return redirect(url_for("clerk.item", code=code), 303)


@bp.post("/items/<code>/delivered")
@clerk_page
def delivered(code: str):
    def call(cid: str, f: dict[str, str]):
        authorised = f.get("receiver") == Receiver.AUTHORISED.value
        return outcomes.record_delivered(
            deps(),
            clerk(),
            cid,
            receiver=f.get("receiver", ""),
            id_type=f.get("id_type", ""),
            id_last_digits=f.get("id_last_digits", ""),
            receiver_name=f.get("receiver_name") if authorised else None,
            authorisation_ref=f.get("authorisation_ref") if authorised else None,
            client_event_id=f.get("client_event_id", ""),
        )

    return _record(code, "delivered", call)


@bp.post("/items/<code>/failed")
@clerk_page
def failed(code: str):
    def call(cid: str, f: dict[str, str]):
        refused = f.get("reason") == FailureReason.RECIPIENT_REFUSED.value
        return outcomes.record_failed(
            deps(),
            clerk(),
            cid,
            reason=f.get("reason", ""),
            note=f.get("note", ""),
            refuser_name=f.get("refuser_name") if refused else None,
            refuser_id_type=f.get("refuser_id_type") if refused else None,
            refuser_id_last_digits=f.get("refuser_id_last_digits") if refused else None,
            client_event_id=f.get("client_event_id", ""),
        )

    return _record(code, "failed", call)


@bp.post("/items/<code>/returned")
@clerk_page
def returned(code: str):
    def call(cid: str, f: dict[str, str]):
        return outcomes.record_returned_to_agency(
            deps(),
            clerk(),
            cid,
            reason=f.get("reason", ""),
            note=f.get("note", ""),
            client_event_id=f.get("client_event_id", ""),
        )

    return _record(code, "returned", call)


@bp.post("/items/<code>/step")
@clerk_page
def step(code: str):
    """A scan step from the item page (arrived, out for delivery, collected): the same as scanning the code."""
    found = _lookup(code)
    mode = request.form.get("mode", "")
    if mode not in {m.value for m in STEP_ACTIONS.values()}:
        abort(400)
    event_id = request.form.get("client_event_id") or str(uuid.uuid4())
    (result,) = scans.ingest_scans(deps(), clerk(), [ScanInput(event_id, found.code, deps().clock.now(), mode, None)])
    remember(result_view(result))
    category = "success" if result.outcome == ScanOutcome.ACCEPTED else "warning"
    flash(translate_error(result.message), category)
    return redirect(url_for("clerk.item", code=code), 303)
