"""``/admin/outbox``: every external effect waiting, retrying, in flight or dead-lettered — what it is (in words),
for which consignment and agency, how many attempts, the last error explained in words (``outbox_errors``) with the
technical text (personal data masked) folded away, the next attempt — and
replaying one or a selection of dead items, with what the replay did."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.admin import OutboxView
from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.model import OutboxKind
from postal_bridge.services import admin as svc
from postal_bridge.web.admin.common import KIND_LABELS, VIEW_LABELS, admin, bp, deps, field_errors
from postal_bridge.web.admin.outbox_errors import explain


def _filters(source) -> dict[str, str]:
    return {k: (source.get(k) or "").strip() for k in ("view", "kind", "agency")}


def _back(filters: dict[str, str]) -> str:
    query = urlencode({k: v for k, v in filters.items() if v})
    return url_for("admin_web.outbox") + (f"?{query}" if query else "")


@bp.get("/outbox")
def outbox():
    filters = _filters(request.args)
    try:
        page_no = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page_no = 1
    errors: dict[str, list[str]] = {}
    try:
        page = svc.outbox(
            deps(),
            admin(),
            view=filters["view"] or OutboxView.OPEN.value,
            kind=filters["kind"] or None,
            agency_code=filters["agency"] or None,
            page=page_no,
        )
    except ValidationFailed as exc:
        errors = field_errors(exc)
        page = svc.outbox(deps(), admin())
        filters = {"view": "", "kind": "", "agency": ""}
    return render_template(
        "admin/outbox.html",
        page=page,
        filters=filters,
        view=OutboxView(filters["view"] or OutboxView.OPEN.value),
        views=list(OutboxView),
        kinds=[(k.value, KIND_LABELS[k]) for k in OutboxKind],
        kind_labels=KIND_LABELS,
        view_labels=VIEW_LABELS,
        agencies=svc.agencies(deps(), admin()),
        errors=errors,
        explain=explain,
        back=_back(filters),
        page_url=lambda n: _back(filters) + ("&" if "?" in _back(filters) else "?") + f"page={n}",
    ), (400 if errors else 200)


@bp.post("/outbox/replay")
def outbox_replay():
    filters = _filters(request.form)
    ids: list[int] = []
    for raw in request.form.getlist("ids"):
        try:
            ids.append(int(raw))
        except ValueError:
            continue
    try:
        done = svc.replay(deps(), admin(), ids, reenable=request.form.get("reenable") == "1")
    except ValidationFailed as exc:
        for messages in field_errors(exc).values():
            for m in messages:
                flash(m, "error")
        return redirect(_back(filters), code=303)
    if done.requeued:
        flash(
            _(
                "Đã đưa %(n)s mục trở lại hàng đợi (%(ids)s): hệ thống sẽ thực hiện lại ngay.",
                n=len(done.requeued),
                ids=", ".join(f"#{i}" for i in done.requeued),
            ),
            "success",
        )
    if done.not_dead:
        flash(
            _(
                "Không làm gì với %(ids)s: mục không còn ở trạng thái thất bại (có thể đã được chạy lại).",
                ids=", ".join(f"#{i}" for i in done.not_dead),
            ),
            "warning",
        )
    if done.endpoint_unusable:
        flash(
            _(
                "Chưa gửi lại %(ids)s: khóa API của chúng đã bị thu hồi, không có địa chỉ nhận, hoặc bên nhận đã "
                "báo ngừng (410 Gone). Sửa địa chỉ ở trang khóa API, hoặc chọn \u201cBật lại địa chỉ nhận\u201d.",
                ids=", ".join(f"#{i}" for i in done.endpoint_unusable),
            ),
            "warning",
        )
    if done.reenabled:
        flash(_("Đã bật lại %(n)s địa chỉ nhận thông báo.", n=done.reenabled), "success")
    return redirect(_back(filters), code=303)
