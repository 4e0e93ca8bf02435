"""``/dashboard``: the provincial office's page — key figures and three charts drawn here as inline SVG (no
JavaScript, no chart library), each with a ``<title>``/``<desc>`` and a data table as fallback.

Who may look: a signed-in counter user (their agency) or admin (the whole province); or a system with an
``Authorization: Bearer <api key>`` header (a reverse proxy or a script can send it), or a small form that POSTs the
key once — the signed session cookie then keeps the key's SHA-256, never the key. The key is never accepted in the
URL: query strings end up in access logs, browser history and Referer headers. An admin key sees every agency; any
other key its own agency.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from postal_bridge.domain.errors import Unauthorized, ValidationFailed
from postal_bridge.domain.model import Role
from postal_bridge.domain.reports import KIND_LABELS_VI
from postal_bridge.services import reports as svc
from postal_bridge.services.agencies import authenticate
from postal_bridge.web import nav
from postal_bridge.web.auth import agency_caller, current_user

bp = Blueprint("dashboard", __name__, template_folder="templates")
nav.register("admin", "dashboard.dashboard", _l("Bảng điều khiển"), order=90)
nav.register("counter", "dashboard.dashboard", _l("Bảng điều khiển"), order=90)
SESSION_KEY = "dashboard_key_sha256"
KIND_COLOURS = {"pickup": "#0b5394", "return": "#e69138", "transfer": "#6aa84f"}
LINE_COLOUR = "#1b6e20"
BAR_COLOUR = "#0b5394"


def _deps():
    return current_app.extensions["postal_bridge"].deps


def _caller():
    user = current_user()
    if user is not None and user.role in (Role.COUNTER, Role.ADMIN):
        return agency_caller()
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return authenticate(_deps(), token.strip())
    return svc.dashboard_caller(_deps(), session.get(SESSION_KEY))


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed({name: ["Use YYYY-MM-DD."]}) from exc


@bp.get("/dashboard")
def dashboard():
    try:
        who = _caller()
    except Unauthorized:
        session.pop(SESSION_KEY, None)
        return render_template("dashboard.html", login=True, error=None), 401
    try:
        data = svc.dashboard(_deps(), who, start=_date_arg("from"), end=_date_arg("to"))
    except ValidationFailed as exc:
        message = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items())
        return render_template("dashboard.html", login=False, error=message, data=None), 400
    total = data.total
    tiles = [
        ("Tổng số bưu gửi", svc.vn_int(total.total)),
        ("Tỷ lệ đúng hạn J+n", svc.vn_pct(total.on_time_rate)),
        ("Phát thành công lần đầu", svc.vn_pct(total.first_attempt_rate)),
        ("Thời gian toàn trình TB (giờ)", svc.vn_hours(total.transit_avg_hours)),
        ("Chuyển hoàn", svc.vn_int(total.returned)),
        ("Sự cố", svc.vn_int(total.incidents_total)),
        ("Khiếu nại", svc.vn_int(total.complaints)),
    ]
    return render_template(
        "dashboard.html",
        login=False,
        error=None,
        data=data,
        tiles=tiles,
        period=f"{svc.vn_date(data.start)} – {svc.vn_date(data.end)}",
        generated=svc.vn_time(data.generated_at),
        kinds=[(k, KIND_LABELS_VI[k], KIND_COLOURS[k]) for k in svc.kinds()],
        volume_svg=volume_chart(data),
        on_time_svg=on_time_chart(data),
        status_svg=status_chart(data),
        pct=svc.vn_pct,
        num=svc.vn_int,
        signed_in_with_key=bool(session.get(SESSION_KEY)) and current_user() is None,
    )


@bp.post("/dashboard/login")
def login():
    raw = (request.form.get("api_key") or "").strip()
    try:
        authenticate(_deps(), raw)
    except Unauthorized:
        return render_template("dashboard.html", login=True, error="Khóa API không đúng hoặc đã bị thu hồi."), 401
    session.clear()
    session[SESSION_KEY] = svc.dashboard_login(raw)
    return redirect(url_for("dashboard.dashboard"), code=303)


@bp.post("/dashboard/logout")
def logout():
    session.pop(SESSION_KEY, None)
    return redirect(url_for("dashboard.dashboard"), code=303)


# --------------------------------------------------------------------------------------------------- SVG charts

W, H = 720, 260
PAD_L, PAD_R, PAD_T, PAD_B = 48, 12, 14, 40


def _svg(chart_id: str, title: str, desc: str, body: list[str], height: int = H) -> Markup:
    return Markup(
        f'<svg id="{chart_id}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {W} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    step = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def _y_axis(max_value: float, fmt, ticks: int = 5) -> list[str]:
    out = []
    plot_h = H - PAD_T - PAD_B
    for i in range(ticks + 1):
        v = max_value * i / ticks
        y = PAD_T + plot_h - plot_h * i / ticks
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd" stroke-width="1"/>')
        out.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4a4a4a">{escape(fmt(v))}</text>')
    return out


def _x_labels(labels: list[str]) -> list[str]:
    n = max(len(labels), 1)
    slot = (W - PAD_L - PAD_R) / n
    every = max(1, round(n / 12))
    return [
        f'<text x="{PAD_L + slot * (i + 0.5):.1f}" y="{H - PAD_B + 16}" text-anchor="middle" fill="#4a4a4a">'
        f"{escape(label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def volume_chart(data: svc.Dashboard) -> Markup:
    """Stacked bars: items registered per week, by kind."""
    weeks = data.weeks
    top = _nice_max(max((w.total for w in weeks), default=0))
    plot_h = H - PAD_T - PAD_B
    slot = (W - PAD_L - PAD_R) / max(len(weeks), 1)
    body = _y_axis(top, lambda v: svc.vn_int(round(v)))
    for i, w in enumerate(weeks):
        y = PAD_T + plot_h
        for kind in svc.kinds():
            n = w.volume.get(kind, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            body.append(
                f'<rect x="{PAD_L + slot * i + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{KIND_COLOURS[kind]}"><title>{escape(w.label)}: '
                f"{escape(KIND_LABELS_VI[kind])} {n}</title></rect>"
            )
    body += _x_labels([w.label for w in weeks])
    desc = "; ".join(f"tuần {w.label}: {w.total}" for w in weeks)
    return _svg("chart-volume", "Số bưu gửi đăng ký theo tuần, theo loại dịch vụ", desc, body)


def on_time_chart(data: svc.Dashboard) -> Markup:
    """A line: share of items on time (J+n) per week of registration; weeks without data leave a gap."""
    weeks = data.weeks
    plot_h = H - PAD_T - PAD_B
    slot = (W - PAD_L - PAD_R) / max(len(weeks), 1)
    body = _y_axis(1.0, lambda v: f"{round(v * 100)} %")
    segments: list[list[tuple[float, float]]] = [[]]
    for i, w in enumerate(weeks):
        if w.on_time_rate is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((PAD_L + slot * (i + 0.5), PAD_T + plot_h - plot_h * w.on_time_rate))
    for seg in segments:
        if len(seg) > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
            body.append(f'<polyline points="{points}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
    for i, w in enumerate(weeks):
        if w.on_time_rate is not None:
            x, y = PAD_L + slot * (i + 0.5), PAD_T + plot_h - plot_h * w.on_time_rate
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{LINE_COLOUR}"><title>{escape(w.label)}: '
                f"{escape(svc.vn_pct(w.on_time_rate))}</title></circle>"
            )
    body += _x_labels([w.label for w in weeks])
    desc = "; ".join(f"tuần {w.label}: {svc.vn_pct(w.on_time_rate)}" for w in weeks)
    return _svg("chart-on-time", "Tỷ lệ đúng hạn J+n theo tuần", desc, body)


def status_chart(data: svc.Dashboard) -> Markup:
    """Horizontal bars: how many items of the period are in each status now."""
    rows = data.status_mix
    row_h = 24
    label_w = 200
    height = max(PAD_T + row_h * len(rows) + 10, 60)
    top = max((n for _, _, n in rows), default=0) or 1
    body = []
    for i, (_, label, n) in enumerate(rows):
        y = PAD_T + i * row_h
        width = (W - label_w - 70) * n / top
        body.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="#1a1a1a">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 8}" fill="{BAR_COLOUR}"/>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 15}" fill="#1a1a1a">{escape(svc.vn_int(n))}</text>'
        )
    if not rows:
        body.append(f'<text x="{W / 2}" y="36" text-anchor="middle" fill="#4a4a4a">Không có bưu gửi</text>')
    desc = "; ".join(f"{label}: {n}" for _, label, n in rows) or "Không có bưu gửi"
    return _svg("chart-status", "Cơ cấu trạng thái bưu gửi", desc, body, height=height)
