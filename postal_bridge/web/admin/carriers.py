"""``/admin/carriers``: per agency, which couriers it may book with and their settings (credentials masked, never
echoed back; a new secret value is typed twice), and its SMS to citizens (on or off, the sender's short name)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.services import admin as svc
from postal_bridge.services.carriers import is_secret_setting
from postal_bridge.web.admin.agencies import display_phone
from postal_bridge.web.admin.common import admin, bp, deps, field_errors


def _page(agency_code: str, *, carrier_errors=None, failed: str | None = None, sms_errors=None, sms_values=None):
    agencies = svc.agencies(deps(), admin())
    codes = [r.agency.code for r in agencies]
    code = (agency_code or "").upper()
    if code not in codes:
        code = admin().agency.code if admin().agency.code in codes else (codes[0] if codes else "")
    agency, rows, sms = svc.carriers(deps(), admin(), code) if code else (None, [], None)
    errors = carrier_errors or {}
    status = 422 if errors or sms_errors else 200
    return render_template(
        "admin/carriers.html",
        agencies=agencies,
        agency=agency,
        rows=rows,
        sms=sms,
        errors=errors,
        failed=failed,
        sms_errors=sms_errors or {},
        sms_values=sms_values or ({"sender": sms.sender or "", "enabled": sms.enabled} if sms else {}),
        brandname=deps().sms_brandname,
        sms_gateway=deps().sms is not None,
        hotline=display_phone(
            next((r.hotline for r in agencies if agency and r.agency.code == agency.code), None)
            or (agency.phone if agency else None)
        ),
    ), status


@bp.get("/carriers")
def carriers():
    return _page(request.args.get("agency") or "")


@bp.post("/carriers/<agency_code>/<carrier>")
def carrier_save(agency_code: str, carrier: str):
    """Set what was typed (an empty box keeps the stored value), remove what was ticked, add one new setting."""
    _agency, rows, _sms = svc.carriers(deps(), admin(), agency_code)
    row = next((r for r in rows if r.code == carrier), None)
    stored = set(row.settings) if row else set()
    form = request.form
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name in sorted(stored):
        typed = form.get(f"value:{name}", "")
        secret = name in (row.secret_keys if row else ())
        if secret and typed and typed != form.get(f"confirm:{name}", ""):
            errors[f"confirm:{name}"] = [_("Hai lần nhập giá trị mới không giống nhau.")]
        values[name] = typed
    new_key = (form.get("new_key") or "").strip()
    new_value = form.get("new_value") or ""
    if new_key:
        if new_key in stored:
            errors["new_key"] = [_("Thiết lập này đã có ở trên; hãy sửa ở đó.")]
        elif not new_value.strip():
            errors["new_value"] = [_("Hãy nhập giá trị cho thiết lập mới.")]
        elif is_secret_setting(new_key) and new_value != form.get("new_confirm", ""):
            errors["new_confirm"] = [_("Hai lần nhập giá trị mới không giống nhau.")]
        values[new_key] = new_value
    elif new_value.strip():
        errors["new_key"] = [_("Hãy nhập tên thiết lập.")]
    remove = [n for n in sorted(stored) if form.get(f"remove:{n}")]
    if not errors:
        try:
            svc.configure_carrier(
                deps(),
                admin(),
                agency_code,
                carrier,
                enabled=form.get("enabled") == "1",
                values={k: v for k, v in values.items() if k not in remove},
                remove=remove,
            )
        except ValidationFailed as exc:
            errors = field_errors(exc)
    if errors:
        return _page(agency_code, carrier_errors=errors, failed=carrier)
    flash(
        _("Đã lưu thiết lập %(carrier)s của đơn vị %(agency)s.", carrier=carrier, agency=agency_code.upper()), "success"
    )
    return redirect(url_for("admin_web.carriers", agency=agency_code.upper()) + f"#carrier-{carrier}", code=303)


@bp.post("/carriers/<agency_code>/sms")
def sms_save(agency_code: str):
    values = {"sender": (request.form.get("sender") or "").strip(), "enabled": request.form.get("enabled") == "1"}
    try:
        svc.configure_sms(deps(), admin(), agency_code, enabled=values["enabled"], sender=values["sender"])
    except ValidationFailed as exc:
        return _page(agency_code, sms_errors=field_errors(exc), sms_values=values)
    flash(_("Đã lưu thiết lập SMS của đơn vị %(agency)s.", agency=agency_code.upper()), "success")
    return redirect(url_for("admin_web.carriers", agency=agency_code.upper()) + "#sms", code=303)
