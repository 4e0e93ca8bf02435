"""The administrator's pages through the Flask client, on the real database and Redis: who may open them, CSRF,
people, API keys, agencies, post offices, courier and SMS settings, the outbox and its replay, and the audit log."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from importlib import resources

import pytest

from postal_bridge.domain.errors import Unauthorized
from postal_bridge.domain.model import OutboxItem, OutboxKind, OutboxState
from postal_bridge.services import accounts, agencies
from tests.conftest import drain, form_token, register_hanoi

PASSWORD = "mật khẩu quản trị đủ dài"
DEMO_OFFICES = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")
PAGES = (
    "/admin",
    "/admin/agencies",
    "/admin/agencies/new",
    "/admin/agencies/HCC-HN",
    "/admin/wards?province=01&q=ba",
    "/admin/post-offices",
    "/admin/post-offices/DEMO-HN-01",
    "/admin/users",
    "/admin/users/new",
    "/admin/api-keys",
    "/admin/api-keys/new",
    "/admin/carriers?agency=HCC-HN",
    "/admin/outbox",
    "/admin/outbox?view=dead",
)


@pytest.fixture
def app(container):
    from postal_bridge import create_app
    from postal_bridge.services.post_offices import load_post_offices_cli

    deps = container.deps
    register_hanoi(deps)
    with resources.as_file(DEMO_OFFICES) as path:
        assert load_post_offices_cli(deps, path) == 0
    accounts.create_user(deps, username="quantri", role="admin", agency_code="HCC-HN", password=PASSWORD)
    accounts.create_user(deps, username="hoa", role="counter", agency_code="HCC-HN", password=PASSWORD)
    accounts.create_user(deps, username="binh", role="clerk", post_office_code="DEMO-HN-01", password=PASSWORD)
    return create_app(container=container)


def sign_in(app, username: str = "quantri", password: str = PASSWORD):
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": password, "csrf_token": form_token(client)})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def admin(app):
    return sign_in(app)


def once(client, path: str) -> tuple[str, str]:
    """The CSRF token and the one-time form id of a form that shows a secret."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1), re.search(
        r'name="once" value="([^"]+)"', html
    ).group(1)


def shown(html: str, ident: str) -> str:
    match = re.search(rf'id="{ident}">([^<]+)<', html)
    assert match, f"no {ident} on the page"
    return match.group(1).strip()


def audit(container, subject: str | None = None, action: str | None = None):
    with container.deps.uow() as uow:
        return uow.audit.entries(subject=subject, action=action)


def user_id(container, username: str) -> str:
    with container.deps.uow() as uow:
        return uow.users.by_username(username).id


# ------------------------------------------------------------------------------------------------------ the doors


def test_only_admins_open_the_pages_others_get_403_and_visitors_sign_in(app) -> None:
    anonymous = app.test_client()
    for path in PAGES:
        bounced = anonymous.get(path)
        assert bounced.status_code == 302 and "/login?next=" in bounced.headers["Location"], path
    for who in ("hoa", "binh"):
        other = sign_in(app, who)
        for path in PAGES:
            refused = other.get(path)
            assert refused.status_code == 403 and refused.mimetype == "text/html", (who, path)
        assert other.post("/admin/users/new", data={"csrf_token": form_token(other, "/account")}).status_code == 403
    admin = sign_in(app)
    for path in PAGES:
        page = admin.get(path)
        assert page.status_code == 200, path
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
        assert "no-store" in page.headers["Cache-Control"]
    assert sign_in(app).get("/").headers["Location"].endswith("/admin")  # the admin's home page


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(admin, container) -> None:
    refused = admin.post("/admin/users/new", data={"username": "moi.user", "role": "counter", "agency": "HCC-HN"})
    assert refused.status_code == 400 and "tải lại trang" in refused.get_data(as_text=True)
    forged = admin.post("/admin/api-keys/new", data={"agency": "HCC-HN", "name": "x", "csrf_token": "forged"})
    assert forged.status_code == 400
    with container.deps.uow() as uow:
        assert uow.users.by_username("moi.user") is None
        assert uow.api_keys.for_agency(uow.agencies.by_code("HCC-HN").id) == []


# ------------------------------------------------------------------------------------------------------ people


def test_a_created_user_signs_in_with_the_password_shown_once(app, admin, container) -> None:
    csrf, token = once(admin, "/admin/users/new")
    form = {
        "csrf_token": csrf,
        "once": token,
        "username": "lan.pt",
        "full_name": "Phạm Thị Lan",
        "role": "counter",
        "agency": "HCC-HN",
        "post_office": "DEMO-HN-01",
        "printer_profile": "zpl203",
    }
    answer = admin.post("/admin/users/new", data=form)
    assert answer.status_code == 200 and "Location" not in answer.headers
    html = answer.get_data(as_text=True)
    password = shown(html, "new-password")
    assert "chỉ hiện một lần" in html
    assert password not in (admin.get_cookie("pb_session").value or "")  # never in the (signed, readable) cookie
    with container.deps.uow() as uow:
        made = uow.users.by_username("lan.pt")
    assert made.role.value == "counter" and made.post_office_code is None and made.printer_profile == "zpl203"
    assert password not in made.password_hash
    lan = sign_in(app, "lan.pt", password)
    assert lan.get("/account").status_code == 200

    again = admin.post("/admin/users/new", data={**form, "username": "lan.pt2"})  # the answer page reloaded
    assert again.status_code == 409
    with container.deps.uow() as uow:
        assert uow.users.by_username("lan.pt2") is None
    [entry] = audit(container, f"user:{made.id}", "user.created")
    assert entry.actor == "user:quantri" and entry.details["before"] is None
    assert entry.details["after"]["username"] == "lan.pt" and password not in json.dumps(entry.details)


def test_bad_input_shows_each_field_error_and_creates_nobody(admin, container) -> None:
    csrf, token = once(admin, "/admin/users/new")
    answer = admin.post(
        "/admin/users/new",
        data={"csrf_token": csrf, "once": token, "username": "Sai Tên!", "role": "clerk", "agency": "HCC-HN"},
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'id="username" name="username"' in html and 'aria-describedby="username-error' in html
    assert re.search(r'id="username-error">[^<]*chữ thường', html)
    assert re.search(r'id="post_office-error">[^<]*bưu cục', html)
    assert 'href="#username"' in html  # the summary links to the field
    taken = admin.post(
        "/admin/users/new",
        data={"csrf_token": csrf, "once": token, "username": "hoa", "role": "counter", "agency": "HCC-HN"},
    )
    assert taken.status_code == 422 and "đã có người dùng" in taken.get_data(as_text=True)
    with container.deps.uow() as uow:
        assert {u.username for u in uow.users.list()} == {"quantri", "hoa", "binh"}
    assert sorted(e.details["after"]["username"] for e in audit(container, action="user.created")) == [
        "binh",
        "hoa",
        "quantri",
    ]


def test_reset_password_unlock_disable_and_enable(app, admin, container) -> None:
    uid = user_id(container, "hoa")
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(Unauthorized):
            accounts.sign_in(container.deps, "hoa", "không phải mật khẩu")
    assert "Tạm khóa" in admin.get("/admin/users?status=locked").get_data(as_text=True)
    page = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert "Mở khóa" in page
    csrf = form_token(admin, f"/admin/users/{uid}")
    assert admin.post(f"/admin/users/{uid}/unlock", data={"csrf_token": csrf}).status_code == 303
    hoa = sign_in(app, "hoa")  # unlocked: the old password works again
    [unlocked] = audit(container, f"user:{uid}", "user.unlocked")
    assert unlocked.details["before"]["locked_until"] is not None and unlocked.details["after"]["locked_until"] is None

    csrf, token = once(admin, f"/admin/users/{uid}")
    reset = admin.post(f"/admin/users/{uid}/reset-password", data={"csrf_token": csrf, "once": token})
    assert reset.status_code == 200
    new_password = shown(reset.get_data(as_text=True), "new-password")
    assert hoa.get("/account").status_code == 302  # the reset ended the old session
    with pytest.raises(Unauthorized):
        accounts.sign_in(container.deps, "hoa", PASSWORD)
    sign_in(app, "hoa", new_password)
    assert admin.post(f"/admin/users/{uid}/reset-password", data={"csrf_token": csrf, "once": token}).status_code == 409
    [entry] = audit(container, f"user:{uid}", "user.password_reset")
    assert "before" in entry.details and "after" in entry.details and new_password not in json.dumps(entry.details)

    signed = sign_in(app, "hoa", new_password)
    assert admin.post(f"/admin/users/{uid}/disable", data={"csrf_token": csrf}).status_code == 303
    assert signed.get("/account").status_code == 302
    with pytest.raises(Unauthorized):
        accounts.sign_in(container.deps, "hoa", new_password)
    assert "Đã vô hiệu hóa" in admin.get("/admin/users?status=disabled").get_data(as_text=True)
    assert admin.post(f"/admin/users/{uid}/enable", data={"csrf_token": csrf}).status_code == 303
    sign_in(app, "hoa", new_password)
    [off] = audit(container, f"user:{uid}", "user.disabled")
    assert off.details["before"]["disabled"] is False and off.details["after"]["disabled"] is True

    me = user_id(container, "quantri")
    assert admin.post(f"/admin/users/{me}/disable", data={"csrf_token": csrf}).status_code == 409
    assert admin.post(f"/admin/users/{me}/reset-password", data={"csrf_token": csrf}).status_code == 409


def test_editing_a_user_changes_name_and_labels_and_refuses_bad_values(admin, container) -> None:
    uid = user_id(container, "binh")
    csrf = form_token(admin, f"/admin/users/{uid}")
    bad = admin.post(f"/admin/users/{uid}", data={"csrf_token": csrf, "full_name": "Bình", "printer_profile": "fax"})
    assert bad.status_code == 422 and 'id="printer_profile-error"' in bad.get_data(as_text=True)
    with container.deps.uow() as uow:
        assert uow.users.get(uid).full_name == ""
    good = {"csrf_token": csrf, "full_name": "Trần Văn Bình", "printer_profile": "zpl300"}
    assert admin.post(f"/admin/users/{uid}", data=good).status_code == 303
    with container.deps.uow() as uow:
        changed = uow.users.get(uid)
    assert (changed.full_name, changed.printer_profile) == ("Trần Văn Bình", "zpl300")
    [entry] = audit(container, f"user:{uid}", "user.updated")
    assert (
        entry.details["before"]["printer_profile"] == "pdf" and entry.details["after"]["full_name"] == "Trần Văn Bình"
    )


# ------------------------------------------------------------------------------------------------------ API keys


def _create_key(admin, **fields) -> tuple[str, str, str]:
    csrf, token = once(admin, "/admin/api-keys/new")
    data = {"csrf_token": csrf, "once": token, "agency": "HCC-HN", "name": "Một cửa tỉnh", "printer_profile": "pdf"}
    answer = admin.post("/admin/api-keys/new", data={**data, **fields})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:800]
    html = answer.get_data(as_text=True)
    key_id = re.search(r'href="/admin/api-keys/([0-9a-f-]{36})"', html).group(1)
    return shown(html, "api-key"), shown(html, "webhook-secret"), key_id


def test_a_created_key_authenticates_until_it_is_revoked(admin, container) -> None:
    raw, secret, key_id = _create_key(admin, scope="admin", printer_profile="zpl203")
    caller = agencies.authenticate(container.deps, raw)
    assert caller.key.id == key_id and caller.is_admin and caller.printer_profile == "zpl203"
    assert caller.key.webhook_secret == secret
    api = admin.application.test_client()
    assert api.get("/api/v1/carriers", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    listing = admin.get("/admin/api-keys").get_data(as_text=True)
    assert raw not in listing and secret not in listing and raw[:10] in listing
    detail = admin.get(f"/admin/api-keys/{key_id}").get_data(as_text=True)
    assert raw not in detail and secret not in detail

    confirm = admin.get(f"/admin/api-keys/{key_id}/revoke")
    assert confirm.status_code == 200 and "không khôi phục được" in confirm.get_data(as_text=True)
    agencies.authenticate(container.deps, raw)  # the confirmation page changed nothing
    csrf = form_token(admin, f"/admin/api-keys/{key_id}/revoke")
    assert admin.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": csrf}).status_code == 303
    with pytest.raises(Unauthorized):
        agencies.authenticate(container.deps, raw)
    assert api.get("/api/v1/carriers", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert admin.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": csrf}).status_code == 409
    [made] = audit(container, f"api_key:{key_id}", "api_key.created")
    [revoked] = audit(container, f"api_key:{key_id}", "api_key.revoked")
    assert made.details["after"]["scope"] == "admin" and revoked.details["before"]["revoked_at"] is None
    assert revoked.details["after"]["revoked_at"] is not None
    for entry in (made, revoked):
        assert raw not in json.dumps(entry.details) and secret not in json.dumps(entry.details)


def test_a_key_form_with_bad_input_shows_the_fields_and_issues_nothing(admin, container) -> None:
    csrf, token = once(admin, "/admin/api-keys/new")
    answer = admin.post(
        "/admin/api-keys/new",
        data={"csrf_token": csrf, "once": token, "agency": "", "name": "", "callback_url": "ftp://x/cb"},
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    for name in ("agency", "name", "callback_url"):
        assert f'id="{name}-error"' in html, name
    assert "URL http(s)" in html
    with container.deps.uow() as uow:
        assert uow.admin.keys() == []
    assert audit(container, action="api_key.created") == []


def test_rotating_the_webhook_secret_shows_the_new_one_once_and_explains_the_overlap(admin, container) -> None:
    _raw, old_secret, key_id = _create_key(admin)
    csrf, token = once(admin, f"/admin/api-keys/{key_id}")
    rotated = admin.post(
        f"/admin/api-keys/{key_id}/rotate", data={"csrf_token": csrf, "once": token, "overlap_hours": "24"}
    )
    assert rotated.status_code == 200
    html = rotated.get_data(as_text=True)
    new_secret = shown(html, "webhook-secret")
    assert new_secret != old_secret and new_secret.startswith("whsec_") and "hai chữ ký" in html
    with container.deps.uow() as uow:
        key = uow.api_keys.get(key_id)
    assert key.webhook_secret == new_secret and key.previous_webhook_secret == old_secret
    again = admin.post(f"/admin/api-keys/{key_id}/rotate", data={"csrf_token": csrf, "once": token})
    assert again.status_code == 409  # reloading the answer does not rotate again
    csrf, token = once(admin, f"/admin/api-keys/{key_id}")
    now = admin.post(f"/admin/api-keys/{key_id}/rotate", data={"csrf_token": csrf, "once": token, "overlap_hours": "0"})
    assert "bỏ ngay" in now.get_data(as_text=True)
    with container.deps.uow() as uow:
        assert uow.api_keys.get(key_id).previous_webhook_secret is None
    entries = audit(container, f"api_key:{key_id}", "api_key.secret_rotated")
    assert len(entries) == 2 and entries[0].details["after"]["previous_secret_valid_until"] is not None
    assert all(s not in json.dumps([e.details for e in entries]) for s in (old_secret, new_secret))
    csrf, token = once(admin, f"/admin/api-keys/{key_id}")
    odd = admin.post(f"/admin/api-keys/{key_id}/rotate", data={"csrf_token": csrf, "once": token, "overlap_hours": "5"})
    assert odd.status_code == 422 and 'href="#overlap_hours"' in odd.get_data(as_text=True)


def test_the_callback_url_follows_the_cli_ssrf_rules(admin, container) -> None:
    _raw, _secret, key_id = _create_key(admin)
    container.deps.allow_private_callbacks = False  # as in production
    csrf = form_token(admin, f"/admin/api-keys/{key_id}")
    for url in ("http://127.0.0.1:9000/cb", "http://169.254.169.254/latest", "http://[::1]/cb", "https://10.1.2.3/"):
        refused = admin.post(f"/admin/api-keys/{key_id}/callback", data={"csrf_token": csrf, "callback_url": url})
        assert refused.status_code == 422, url
        assert "mạng nội bộ" in refused.get_data(as_text=True)
    with container.deps.uow() as uow:
        assert uow.api_keys.get(key_id).callback_url is None
    ok = admin.post(
        f"/admin/api-keys/{key_id}/callback", data={"csrf_token": csrf, "callback_url": "https://93.184.216.34/cb"}
    )
    assert ok.status_code == 303
    with container.deps.uow() as uow:
        assert uow.api_keys.get(key_id).callback_url == "https://93.184.216.34/cb"
    cleared = admin.post(f"/admin/api-keys/{key_id}/callback", data={"csrf_token": csrf, "clear": "1"})
    assert cleared.status_code == 303
    with container.deps.uow() as uow:
        assert uow.api_keys.get(key_id).callback_url is None
    changes = audit(container, f"api_key:{key_id}", "api_key.callback_changed")
    assert [e.details["after"]["callback_url"] for e in changes] == ["https://93.184.216.34/cb", None]


# ------------------------------------------------------------------------------------------------------ agencies


def test_agencies_are_created_and_edited_and_bad_input_changes_nothing(admin, container) -> None:
    csrf = form_token(admin, "/admin/agencies/new")
    form = {
        "csrf_token": csrf,
        "code": "hcc-tq",
        "name": "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
        "phone": "0207 3822 123",
        "hotline": "",
        "line": "Số 1 đường 17/8",
        "province_code": "08",
        "ward_code": "00004",
    }
    bad = admin.post("/admin/agencies/new", data=form)
    assert bad.status_code == 422
    assert re.search(r'id="ward_code-error">[^<]*thuộc tỉnh mã 01', bad.get_data(as_text=True))
    with container.deps.uow() as uow:
        assert uow.agencies.by_code("HCC-TQ") is None
    taken = admin.post("/admin/agencies/new", data={**form, "code": "HCC-HN"})
    assert "đã có đơn vị" in taken.get_data(as_text=True)
    tq_ward = container.deps.post_offices.in_province("08")[0].ward_code
    made = admin.post("/admin/agencies/new", data={**form, "ward_code": tq_ward, "hotline": "0207 3822 000"})
    assert made.status_code == 303
    assert "HCC-TQ" in admin.get("/admin/agencies").get_data(as_text=True)
    [created] = audit(container, "agency:HCC-TQ", "agency.created")
    assert created.details["before"] is None and created.details["after"]["phone"] == "+842073822123"

    edit = dict(form, code="ignored", ward_code=tq_ward, phone="123", hotline="0912 345 678")
    bad_edit = admin.post("/admin/agencies/HCC-TQ", data=edit)
    assert bad_edit.status_code == 422 and 'id="phone-error"' in bad_edit.get_data(as_text=True)
    with container.deps.uow() as uow:
        agency = uow.agencies.by_code("HCC-TQ")
        assert agency.phone == "+842073822123"
    edit["phone"] = "0207 3822 999"
    assert admin.post("/admin/agencies/HCC-TQ", data=edit).status_code == 303
    with container.deps.uow() as uow:
        agency = uow.agencies.by_code("HCC-TQ")
        assert agency.phone == "+842073822999"
        assert uow.sms.settings(agency.id).hotline == "+84912345678"
    [updated] = audit(container, "agency:HCC-TQ", "agency.updated")
    assert updated.details["before"]["hotline"] == "+842073822000"
    assert updated.details["after"]["hotline"] == "+84912345678"
    assert updated.details["before"]["phone"] == "+842073822123"


def test_ward_codes_can_be_looked_up_by_name(admin) -> None:
    page = admin.get("/admin/wards?province=01&q=ba dinh").get_data(as_text=True)
    assert "00004" in page and "Ba Đình" in page
    assert "Hãy chọn một tỉnh" in admin.get("/admin/wards?province=99").get_data(as_text=True)


# ------------------------------------------------------------------------------------------------------ post offices

HEADER = "code,name,address_line,ward_code,province_code,lat,lon,phone,service_wards\n"


def _upload(admin, text: str):
    from io import BytesIO

    csrf = form_token(admin, "/admin/post-offices")
    return admin.post(
        "/admin/post-offices/upload",
        data={"csrf_token": csrf, "file": (BytesIO(text.encode("utf-8")), "buu-cuc.csv")},
        content_type="multipart/form-data",
    )


def test_an_uploaded_csv_reports_every_bad_line_and_stores_nothing(admin, container) -> None:
    text = (
        "# thử\n"
        + HEADER
        + "NEW-01,Bưu cục Mới,Số 1 phố Huế,00004,01,21.03,105.84,,00004\n"
        + "NEW-02,Bưu cục Sai,Số 2,00004,01,91,105.8,,\n"
        + "NEW-03,Bưu cục Sai phường,Số 3,99999,01,21.0,105.8,,\n"
        + "NEW-01,Bưu cục Trùng,Số 4,00004,01,21.0,105.8,,\n"
    )
    answer = _upload(admin, text)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td class="code">([^<]+)</td><td>([^<]+)</td></tr>', html)
    assert [(line, col) for line, col, _ in rows] == [("4", "lat"), ("5", "ward_code"), ("6", "code")]
    assert "vĩ độ" in rows[0][2] and "dòng 3" in rows[2][2]
    assert container.deps.post_offices.get("NEW-01") is None  # nothing stored
    assert audit(container, action="post_office.created") == []
    not_text = _upload(admin, "")
    assert not_text.status_code == 422 and 'id="file-error"' in not_text.get_data(as_text=True)


def test_a_good_csv_creates_and_updates_offices_with_the_audit_log(admin, container) -> None:
    text = HEADER + "NEW-01,Bưu cục Mới,Số 1 phố Huế,00004,01,21.03,105.84,0243 8253 536,00004;00008\n"
    assert _upload(admin, text).status_code == 303
    office = container.deps.post_offices.get("NEW-01")
    assert office.name == "Bưu cục Mới" and office.service_wards == frozenset({"00004", "00008"})
    page = admin.get("/admin/post-offices").get_data(as_text=True)
    assert "thêm 1 bưu cục" in page and "NEW-01" in page
    assert _upload(admin, text.replace("Bưu cục Mới", "Bưu cục Mới đổi tên")).status_code == 303
    assert container.deps.post_offices.get("NEW-01").name == "Bưu cục Mới đổi tên"
    [created] = audit(container, "post_office:NEW-01", "post_office.created")
    [updated] = audit(container, "post_office:NEW-01", "post_office.updated")
    assert created.details["before"] is None and updated.details["before"]["name"] == "Bưu cục Mới"
    only_hn = admin.get("/admin/post-offices?province=08").get_data(as_text=True)
    assert "NEW-01" not in only_hn and "DEMO-TQ" in only_hn
    detail = admin.get("/admin/post-offices/DEMO-HN-01").get_data(as_text=True)
    assert "binh" in detail and "00070" in detail
    assert admin.get("/admin/post-offices/NOPE").status_code == 404


# ------------------------------------------------------------------------------------------------------ couriers, SMS


def test_courier_settings_mask_secrets_and_need_them_typed_twice(admin, container) -> None:
    url = "/admin/carriers/HCC-HN/ghn"
    if "ghn" not in container.deps.known_carriers:
        pytest.skip("no GHN adapter in this installation")
    csrf = form_token(admin, "/admin/carriers?agency=HCC-HN")
    base = {"csrf_token": csrf, "enabled": "1"}
    mismatch = admin.post(url, data={**base, "new_key": "token", "new_value": "tok-secret-1234", "new_confirm": "x"})
    assert mismatch.status_code == 422 and 'id="ghn-new_confirm-error"' in mismatch.get_data(as_text=True)
    with container.deps.uow() as uow:
        assert uow.carrier_settings.get(uow.agencies.by_code("HCC-HN").id, "ghn") is None
    ok = {**base, "new_key": "token", "new_value": "tok-secret-1234", "new_confirm": "tok-secret-1234"}
    assert admin.post(url, data=ok).status_code == 303
    assert admin.post(url, data={**base, "new_key": "shop_id", "new_value": "885"}).status_code == 303
    page = admin.get("/admin/carriers?agency=HCC-HN").get_data(as_text=True)
    assert "tok-secret-1234" not in page and "****34" in page and 'value="885"' in page

    changed = admin.post(
        url, data={**base, "value:token": "tok-new-5678", "confirm:token": "tok-new-9999", "value:shop_id": "885"}
    )
    assert changed.status_code == 422 and 'id="ghn-confirm-token-error"' in changed.get_data(as_text=True)
    kept = admin.post(url, data={**base, "value:token": "", "value:shop_id": "886"})  # empty secret: kept
    assert kept.status_code == 303
    off = admin.post(url, data={"csrf_token": csrf, "value:shop_id": "886", "remove:token": "1"})  # no "enabled": off
    assert off.status_code == 303
    with container.deps.uow() as uow:
        config = uow.carrier_settings.get(uow.agencies.by_code("HCC-HN").id, "ghn")
    assert config.enabled is False and config.settings == {"shop_id": "886"}
    entries = audit(container, "agency:HCC-HN:ghn", "carrier.configured")
    assert len(entries) == 4 and "tok-secret-1234" not in json.dumps([e.details for e in entries])
    assert entries[-1].details["before"]["settings"]["token"] == "****34"


def test_sms_settings_per_agency(admin, container) -> None:
    csrf = form_token(admin, "/admin/carriers?agency=HCC-HN")
    bad = admin.post("/admin/carriers/HCC-HN/sms", data={"csrf_token": csrf, "enabled": "1", "sender": "Hà Nội ơi"})
    assert bad.status_code == 422 and 'id="sender-error"' in bad.get_data(as_text=True)
    with container.deps.uow() as uow:
        assert uow.sms.settings(uow.agencies.by_code("HCC-HN").id) is None
    assert admin.post("/admin/carriers/HCC-HN/sms", data={"csrf_token": csrf, "sender": "HCCHANOI"}).status_code == 303
    with container.deps.uow() as uow:
        settings = uow.sms.settings(uow.agencies.by_code("HCC-HN").id)
    assert settings.enabled is False and settings.sender == "HCCHANOI"
    [entry] = audit(container, "agency:HCC-HN", "sms.configured")
    assert entry.details["before"]["enabled"] is True and entry.details["after"]["enabled"] is False


# ------------------------------------------------------------------------------------------------------ the outbox


def _dead(container, kind: OutboxKind, *, payload=None, error: str = "HTTP 500", consignment_id=None) -> int:
    now = container.deps.clock.now()
    item = OutboxItem(
        kind=kind,
        payload=payload or {},
        created_at=now - timedelta(days=3),
        next_attempt_at=now - timedelta(days=1),
        consignment_id=consignment_id,
        state=OutboxState.DEAD,
        attempts=10,
        last_error=error,
    )
    with container.deps.uow() as uow:
        uow.outbox.add(item)
        uow.commit()
    return item.id


def test_replaying_a_dead_item_requeues_it_exactly_once(admin, container) -> None:
    first = _dead(container, OutboxKind.RENDER_LABEL, error="gave up: the citizen 0912 345 678 was not called")
    second = _dead(container, OutboxKind.BOOK)
    page = admin.get("/admin/outbox?view=dead").get_data(as_text=True)
    assert "Tạo nhãn bưu gửi" in page and "Đặt đơn với hãng vận chuyển" in page
    assert "0912 345 678" not in page and "********78" in page  # no personal data in the error shown
    csrf = form_token(admin, "/admin/outbox")
    answer = admin.post("/admin/outbox/replay", data={"csrf_token": csrf, "ids": [first, second], "view": "dead"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/admin/outbox?view=dead")
    told = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"#{first}, #{second}" in told and "trở lại hàng đợi" in told
    with container.deps.uow() as uow:
        for i in (first, second):
            item = uow.outbox.get(i)
            assert (item.state, item.attempts, item.last_error) == (OutboxState.PENDING, 0, None)
    again = admin.post("/admin/outbox/replay", data={"csrf_token": csrf, "ids": [first]})
    assert "không còn ở trạng thái thất bại" in admin.get(again.headers["Location"]).get_data(as_text=True)
    assert len(audit(container, f"outbox:{first}", "outbox.replayed")) == 1
    [entry] = audit(container, f"outbox:{second}", "outbox.replayed")
    assert entry.details == {
        "before": {"state": "dead", "attempts": 10, "kind": "book"},
        "after": {"state": "pending", "attempts": 0, "kind": "book"},
    }
    drain(container)  # the wake-ups were enqueued: the jobs run (no consignment: nothing left to do)
    with container.deps.uow() as uow:
        assert {uow.outbox.get(i).state for i in (first, second)} == {OutboxState.DONE}
    empty = admin.post("/admin/outbox/replay", data={"csrf_token": csrf})
    assert "ít nhất một mục" in admin.get(empty.headers["Location"]).get_data(as_text=True)


def test_a_dead_text_goes_back_to_queued_when_replayed(admin, container) -> None:
    from postal_bridge.domain.sms import SmsMessage, SmsStatus

    now = container.deps.clock.now()
    message = SmsMessage(
        id="0" * 32,
        phone="+84912345678",
        text="HCC-HN: thu",
        event="booked",
        created_at=now,
        scheduled_at=now,
        status=SmsStatus.FAILED,
    )
    with container.deps.uow() as uow:
        uow.sms.add(message)
        uow.commit()
    item = _dead(container, OutboxKind.SEND_SMS, payload={"message_id": message.id})
    assert "Gửi tin nhắn SMS cho công dân" in admin.get("/admin/outbox?kind=send_sms").get_data(as_text=True)
    csrf = form_token(admin, "/admin/outbox")
    admin.post("/admin/outbox/replay", data={"csrf_token": csrf, "ids": [item]})
    with container.deps.uow() as uow:
        assert uow.sms.get(message.id).status == SmsStatus.QUEUED
        assert uow.outbox.get(item).state == OutboxState.PENDING


def test_dead_callbacks_are_replayed_through_the_webhook_rules(admin, container) -> None:
    issued = agencies.create_api_key(
        container.deps, agency_code="HCC-HN", name="one-stop", callback_url="https://93.184.216.34/cb"
    )
    body = json.dumps({"type": "consignment.status_changed", "data": {"status": "booked"}})
    payload = {"api_key_id": issued.key.id, "message_id": "msg_1", "body": body}
    usable = _dead(container, OutboxKind.NOTIFY_DOSSIER, payload=payload)
    with container.deps.uow() as uow:
        uow.alerts.disable_callback(issued.key.id, container.deps.clock.now())
        uow.commit()
    csrf = form_token(admin, "/admin/outbox")
    answer = admin.post("/admin/outbox/replay", data={"csrf_token": csrf, "ids": [usable]})
    assert "410 Gone" in admin.get(answer.headers["Location"]).get_data(as_text=True)
    with container.deps.uow() as uow:
        assert uow.outbox.get(usable).state == OutboxState.DEAD  # the receiver said stop: left dead
    answer = admin.post("/admin/outbox/replay", data={"csrf_token": csrf, "ids": [usable], "reenable": "1"})
    told = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Đã bật lại 1 địa chỉ" in told and f"#{usable}" in told
    with container.deps.uow() as uow:
        assert uow.outbox.get(usable).state == OutboxState.PENDING
        assert uow.api_keys.get(issued.key.id).callback_disabled_at is None
        assert uow.outbox.get(usable).payload["message_id"] == "msg_1"  # the same webhook-id goes again


def test_a_callback_replayed_by_someone_else_first_is_not_claimed_again(admin, container) -> None:
    """Two administrators replay the same dead callback: each read it dead; the one whose update comes second changes
    nothing and must not report (or audit) it as re-queued, nor as left dead for an unusable endpoint."""
    from postal_bridge.services import webhooks_admin

    issued = agencies.create_api_key(
        container.deps, agency_code="HCC-HN", name="one-stop", callback_url="https://93.184.216.34/cb"
    )
    body = json.dumps({"type": "consignment.status_changed", "data": {"status": "booked"}})
    item = _dead(
        container, OutboxKind.NOTIFY_DOSSIER, payload={"api_key_id": issued.key.id, "message_id": "m", "body": body}
    )
    with container.deps.uow() as uow:
        stale = uow.alerts.webhooks(ids=[item], state=OutboxState.DEAD.value, limit=None)  # the slower one's read
    assert [r.id for r in stale] == [item]
    csrf = form_token(admin, "/admin/outbox")
    admin.post("/admin/outbox/replay", data={"csrf_token": csrf, "ids": [item]})  # the faster one commits
    now = container.deps.clock.now()
    with container.deps.uow() as uow:
        assert webhooks_admin.requeue_in(uow, stale, now=now, reenable=False) == ([], [], 0)
        uow.commit()
        assert uow.outbox.get(item).state == OutboxState.PENDING
    assert len(audit(container, f"outbox:{item}", "outbox.replayed")) == 1
    again = admin.post("/admin/outbox/replay", data={"csrf_token": csrf, "ids": [item]})
    told = admin.get(again.headers["Location"]).get_data(as_text=True)
    assert "không còn ở trạng thái thất bại" in told and "Chưa gửi lại" not in told


def test_the_outbox_filters_and_counts(admin, container) -> None:
    _dead(container, OutboxKind.BOOK)
    _dead(container, OutboxKind.SEND_SMS, payload={"message_id": "x"})
    dead_books = admin.get("/admin/outbox?view=dead&kind=book").get_data(as_text=True)
    assert "Đặt đơn với hãng vận chuyển" in dead_books and "Gửi tin nhắn SMS cho công dân<br>" not in dead_books
    assert admin.get("/admin/outbox?view=nonsense").status_code == 400
    home = admin.get("/admin").get_data(as_text=True)
    assert re.search(r'admin-tiles__value">2</span> việc thất bại', home)


def test_pages_speak_english_on_request(admin) -> None:
    page = admin.get("/admin?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page and "Administration" in page
    assert "Users" in admin.get("/admin/users").get_data(as_text=True)


def test_every_outbox_kind_has_a_vietnamese_label() -> None:
    from postal_bridge.web.admin.common import KIND_LABELS

    assert set(KIND_LABELS) == set(OutboxKind)
