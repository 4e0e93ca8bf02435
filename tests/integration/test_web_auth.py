"""The staff pages' doors: sign-in, CSRF on every form, lockout, roles, safe redirects, cookies, headers, language."""

from __future__ import annotations

import re

import pytest

from postal_bridge.services import accounts
from tests.conftest import form_token, register_hanoi

PASSWORD = "mật khẩu đủ dài"


@pytest.fixture
def app(container):
    from postal_bridge import create_app

    register_hanoi(container.deps)
    accounts.create_user(
        container.deps, username="hoa", role="counter", agency_code="HCC-HN", password=PASSWORD, full_name="Hoa"
    )
    return create_app(container=container)


@pytest.fixture
def client(app):
    return app.test_client()


def _sign_in(client, username: str = "hoa", password: str = PASSWORD, *, next_url: str | None = None):
    token = form_token(client)
    path = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(path, data={"username": username, "password": password, "csrf_token": token})


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(client) -> None:
    refused = client.post("/login", data={"username": "hoa", "password": PASSWORD})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "tải lại trang" in refused.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # still signed out
    assert _sign_in(client).status_code == 303
    assert client.post("/logout").status_code == 400  # no token: still signed in
    assert client.get("/account").status_code == 200
    forged = client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400 and client.get("/account").status_code == 200


def test_signing_in_returns_to_the_page_asked_for_but_never_to_another_site(client) -> None:
    bounced = client.get("/account")
    assert bounced.status_code == 302 and bounced.headers["Location"].endswith("/login?next=/account")
    assert _sign_in(client, next_url="/account").headers["Location"] == "/account"
    client.post("/logout", data={"csrf_token": form_token(client, "/account")})
    for evil in ("//evil.example/x", "https://evil.example/x", "javascript:alert(1)"):
        answer = _sign_in(client, next_url=evil)
        assert answer.status_code == 303 and "evil" not in answer.headers["Location"]
        assert "javascript" not in answer.headers["Location"]
        client.post("/logout", data={"csrf_token": form_token(client, "/account")})


def test_the_web_form_locks_after_five_failures_with_one_message(client) -> None:
    for _ in range(accounts.MAX_FAILURES):
        answer = _sign_in(client, password="sai mật khẩu rồi")
        assert answer.status_code == 401
    locked = _sign_in(client)
    assert locked.status_code == 401
    assert "tạm khóa" in locked.get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_signing_out_ends_the_session_on_the_server(client) -> None:
    _sign_in(client)
    cookie = client.get_cookie("pb_session")
    assert cookie is not None
    client.post("/logout", data={"csrf_token": form_token(client, "/account")})
    client.set_cookie("pb_session", cookie.value)  # a copy of the old cookie is worth nothing now
    assert client.get("/account").status_code == 302


def test_roles_guard_the_pages(container, app) -> None:
    from postal_bridge.web.auth import require_role

    accounts.create_user(container.deps, username="boss", role="admin", agency_code="HCC-HN", password=PASSWORD)

    @require_role("admin")
    def admin_only():
        return "admin page"

    app.add_url_rule("/test-admin-only", "test_admin_only", admin_only)
    client = app.test_client()
    _sign_in(client)
    denied = client.get("/test-admin-only")
    assert denied.status_code == 403 and denied.mimetype == "text/html"
    client.post("/logout", data={"csrf_token": form_token(client, "/account")})
    _sign_in(client, "boss")
    assert client.get("/test-admin-only").get_data(as_text=True) == "admin page"


def test_cookies_are_httponly_lax_and_secure_in_production(container, settings) -> None:
    from dataclasses import replace

    from postal_bridge import create_app
    from postal_bridge.bootstrap import build

    register_hanoi(container.deps)
    accounts.create_user(container.deps, username="hoa", role="counter", agency_code="HCC-HN", password=PASSWORD)
    for env, base in (("test", "https://hcc.example.vn"), ("production", "http://10.0.0.5:8000")):
        other = build(replace(settings, env=env, public_base_url=base), clock=container.deps.clock)
        client = create_app(container=other).test_client()
        answer = _sign_in(client)
        header = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith("pb_session="))
        assert "HttpOnly" in header and "SameSite=Lax" in header
        assert "Secure" in header  # over HTTPS, or in production whatever the base URL says
        other.close()
    plain = create_app(container=container).test_client()
    header = next(h for h in _sign_in(plain).headers.getlist("Set-Cookie") if h.startswith("pb_session="))
    assert "Secure" not in header  # http on loopback in tests and the demo


def test_pages_carry_strict_headers_and_the_api_keeps_json(client) -> None:
    page = client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in page.headers["Cache-Control"]
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "Không tìm thấy trang" in missing.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/json"
    assert "Content-Security-Policy" not in api.headers


def test_vietnamese_by_default_english_on_request_and_remembered(client) -> None:
    assert 'lang="vi"' in client.get("/login").get_data(as_text=True)
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english and "Sign in" in english
    assert "Sign in" in client.get("/login").get_data(as_text=True)  # remembered in the session
    fresh = client.application.test_client()
    browser_en = fresh.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="en"' in browser_en
    mixed = fresh.application.test_client().get("/login", headers={"Accept-Language": "fr, vi;q=0.5, en;q=0.4"})
    assert 'lang="vi"' in mixed.get_data(as_text=True)


def test_sign_in_attempts_are_rate_limited_per_address(client) -> None:
    token = form_token(client)
    answers = [
        client.post("/login", data={"username": f"u{i}", "password": "x", "csrf_token": token}).status_code
        for i in range(31)
    ]
    assert answers[:30] == [401] * 30
    assert answers[30] == 429
    assert re.search("Quá nhiều yêu cầu", client.post("/login", data={"csrf_token": token}).get_data(as_text=True))
