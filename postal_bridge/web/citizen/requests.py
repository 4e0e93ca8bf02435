"""``/counter/requests``: counter staff see their agency's open citizen requests (reschedule, hold at the post office,
address change) and mark each one handled ("đã xử lý"), which records who and when (and is audited)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.services import citizen_requests
from postal_bridge.web import nav
from postal_bridge.web.auth import ERROR_MESSAGES, agency_caller, require_role, translate_error
from postal_bridge.web.citizen import bp
from postal_bridge.web.citizen.track import deps

nav.register("counter", "citizen.requests", _l("Yêu cầu của công dân"), order=40)
ERROR_MESSAGES[f"At most {citizen_requests.MAX_NOTE} characters."] = _l(
    "Tối đa %(n)s ký tự.", n=citizen_requests.MAX_NOTE
)


def _page(errors: dict[str, dict[str, list[str]]] | None = None, status: int = 200):
    caller = agency_caller()
    return render_template(
        "citizen/requests.html",
        open_rows=citizen_requests.open_requests(deps(), caller),
        handled_rows=citizen_requests.handled_requests(deps(), caller),
        errors=errors or {},
    ), status


@bp.get("/counter/requests")
@require_role("counter")
def requests():
    return _page()


@bp.post("/counter/requests/<request_id>/handled")
@require_role("counter")
def handled(request_id: str):
    try:
        citizen_requests.mark_handled(deps(), agency_caller(), request_id, note=request.form.get("note", ""))
    except ValidationFailed as exc:
        errors = {k: [translate_error(str(m)) for m in v] for k, v in exc.errors.items()}
        return _page({request_id: errors}, 422)
    except NotFound:  # another agency's request: exactly like an unknown one
        abort(404)
    except Conflict:
        flash(_("Yêu cầu này đã được xử lý trước đó."), "warning")
        return redirect(url_for("citizen.requests"), code=303)
    flash(_("Đã ghi nhận: yêu cầu đã được xử lý."), "success")
    return redirect(url_for("citizen.requests"), code=303)
