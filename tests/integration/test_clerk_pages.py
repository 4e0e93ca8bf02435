"""The postal clerk's pages: they render for a clerk, refuse other roles, and the scan endpoint is CSRF-protected
and idempotent by client event id."""

from __future__ import annotations

import json
import re
import uuid
from importlib import resources

import pytest

from postal_bridge.services import accounts, handover_sessions
from postal_bridge.services.clerk_scope import clerk_caller
from postal_bridge.storage.post_offices import load_csv
from tests.conftest import form_token, register_hanoi

PASSWORD = "mật khẩu đủ dài"
DEMO = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")


@pytest.fixture
def app(container):
    from postal_bridge import create_app

    deps = container.deps
    register_hanoi(deps)
    for office in load_csv(DEMO.read_text(encoding="utf-8")):
        deps.post_offices.upsert(office)
    accounts.create_user(
        deps, username="buucuc.hk", role="clerk", post_office_code="DEMO-HN-01", password=PASSWORD, full_name="Lan"
    )
    accounts.create_user(deps, username="hoa", role="counter", agency_code="HCC-HN", password=PASSWORD, full_name="Hoa")
    return create_app(container=container)


def _signed_in(app, username: str = "buucuc.hk"):
    client = app.test_client()
    token = form_token(client)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return client


@pytest.mark.parametrize("path", ["/clerk", "/clerk/scan", "/clerk/handovers"])
def test_the_clerk_pages_render_for_a_clerk_and_not_for_the_counter(app, path) -> None:
    page = _signed_in(app).get(path)
    assert page.status_code == 200 and "csrf_token" in page.get_data(as_text=True)
    assert _signed_in(app, "hoa").get(path).status_code == 403
    assert app.test_client().get(path).status_code == 302


def test_the_scan_page_alone_may_compile_webassembly(app) -> None:
    client = _signed_in(app)
    assert "wasm-unsafe-eval" in client.get("/clerk/scan").headers["Content-Security-Policy"]
    assert "wasm-unsafe-eval" not in client.get("/clerk").headers["Content-Security-Policy"]


def test_the_scan_endpoint_refuses_a_missing_csrf_token_and_dedupes_client_event_ids(app) -> None:
    client = _signed_in(app)
    token = form_token(client, "/clerk/scan")
    scan = {
        "client_event_id": str(uuid.uuid4()),
        "code": "RR123456785VN",
        "mode": "arrive",
        "scanned_at": "2026-11-20T08:00:00+07:00",
    }
    assert client.post("/clerk/api/scans", json={"scans": [scan]}).status_code == 400
    first = client.post("/clerk/api/scans", json={"scans": [scan]}, headers={"X-CSRFToken": token})
    again = client.post("/clerk/api/scans", json={"scans": [scan]}, headers={"X-CSRFToken": token})
    assert first.status_code == again.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["results"] == again.get_json()["results"]


def test_the_service_worker_lists_only_files_that_exist_and_the_scan_page_uses_them(app) -> None:
    client = _signed_in(app)
    worker = client.get("/clerk/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    body = worker.get_data(as_text=True)
    assets = json.loads(re.search(r"var ASSETS = (\[.*?\]);", body).group(1))
    assert any(a.startswith("/static/js/clerk/scan.js?v=") for a in assets)
    assert any(a.endswith("zxing_reader.wasm") for a in assets)
    for url in assets:
        assert client.get(url).status_code == 200, url
    page = client.get("/clerk/scan").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts and all(s in assets for s in scripts)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert all(s in assets for s in styles)


def test_without_javascript_the_form_posts_one_code_and_the_page_shows_the_result(app) -> None:
    client = _signed_in(app)
    token = form_token(client, "/clerk/scan")
    form = {"csrf_token": token, "client_event_id": str(uuid.uuid4()), "code": "EB123456785VN", "mode": "arrive"}
    answer = client.post("/clerk/scan", data=form)
    assert answer.status_code == 303
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "EB 123 456 785 VN" in shown and "Không có ở bưu cục này" in shown and "✖" in shown
    assert client.get("/clerk/items/EB123456785VN").status_code == 404  # unknown here: not found, like another's


def test_confirming_a_session_checks_both_passwords_and_the_record_prints_only_once_confirmed(app) -> None:
    deps = app.extensions["postal_bridge"].deps
    accounts.create_user(
        deps, username="buucuc.khac", role="clerk", post_office_code="DEMO-HN-02", password=PASSWORD, full_name="Khác"
    )
    client = _signed_in(app)
    token = form_token(client, "/clerk/handovers")
    choice = {"csrf_token": token, "direction": "to_post", "agency_code": "HCC-HN"}
    opened = client.post("/clerk/handovers", data=choice)
    assert opened.status_code == 303
    page = opened.headers["Location"]
    session_id = page.rsplit("/", 1)[1]
    assert client.get(page).status_code == 200
    assert _signed_in(app, "buucuc.khac").get(page).status_code == 404  # another office's session

    not_yet = client.get(f"{page}/bien-ban.pdf")
    assert not_yet.status_code == 303 and not_yet.headers["Location"].endswith(page)

    form = {
        "csrf_token": token,
        "clerk_name": "Lan",
        "password": "sai mật khẩu rồi",
        "agency_rep_name": "Hoa",
        "agency_username": "hoa",
        "agency_password": PASSWORD,
    }
    wrong_clerk = client.post(f"{page}/confirm", data=form)
    assert wrong_clerk.status_code == 422 and "Mật khẩu của bạn không đúng" in wrong_clerk.get_data(as_text=True)
    wrong_agency = client.post(f"{page}/confirm", data=form | {"password": PASSWORD, "agency_password": "không đúng"})
    assert wrong_agency.status_code == 422
    assert "cán bộ cơ quan không đúng" in wrong_agency.get_data(as_text=True)
    nothing_scanned = client.post(f"{page}/confirm", data=form | {"password": PASSWORD})
    assert nothing_scanned.status_code == 422
    assert "Chưa quét bưu gửi nào" in nothing_scanned.get_data(as_text=True)
    assert client.post(f"{page}/confirm", data=form | {"password": PASSWORD, "csrf_token": ""}).status_code == 400
    with deps.uow() as uow:
        clerk = clerk_caller(uow.users.by_username("buucuc.hk"))
    assert handover_sessions.session_view(deps, clerk, session_id).session.state == "open"
