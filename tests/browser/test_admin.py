"""The administrator's pages in a real browser: overview → create a user (who then signs in) → create an API key
(which then calls the API) → replay a dead outbox item; axe-core on every page, and the screenshots of the docs."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from importlib import resources

import pytest

from postal_bridge.domain.model import OutboxItem, OutboxKind, OutboxState
from tests.browser.conftest import check_accessibility, screenshot, sign_in


@pytest.fixture
def admin_site(live):
    from postal_bridge.services.post_offices import load_post_offices_cli

    with resources.as_file(resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")) as path:
        assert load_post_offices_cli(live.deps, path) == 0
    return live.user("quantri", "admin", full_name="Lê Minh Quân")


def _dead(live, kind: OutboxKind, error: str) -> int:
    now = live.clock.now()
    item = OutboxItem(
        kind=kind,
        payload={},
        created_at=now - timedelta(days=3),
        next_attempt_at=now - timedelta(days=1),
        state=OutboxState.DEAD,
        attempts=10,
        last_error=error,
    )
    with live.deps.uow() as uow:
        uow.outbox.add(item)
        uow.commit()
    return item.id


def test_overview_user_key_and_outbox_replay(live, new_page, admin_site) -> None:
    username, password = admin_site
    label_id = _dead(live, OutboxKind.RENDER_LABEL, "gave up after 10 attempts: renderer timed out")
    _dead(live, OutboxKind.BOOK, "gave up after 10 attempts: courier answered HTTP 503")
    page = new_page()
    sign_in(page, username, password)

    # The overview is the admin's home page.
    assert page.url.endswith("/admin")
    assert page.get_by_role("heading", name="Quản trị – tổng quan").is_visible()
    assert "2" in page.locator(".admin-tiles--bad").inner_text()
    check_accessibility(page, "admin-home")
    screenshot(page, "quan-tri-tong-quan")

    # A new counter user: a wrong username first, then the password shown once.
    page.get_by_role("link", name="Tạo người dùng").click()
    page.get_by_label("Tên đăng nhập").fill("Sai Tên")
    page.get_by_role("button", name="Tạo người dùng").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Tên đăng nhập").get_attribute("aria-invalid") == "true"
    check_accessibility(page, "admin-user-new-errors")
    page.get_by_label("Tên đăng nhập").fill("lan.pt")
    page.get_by_label("Họ và tên").fill("Phạm Thị Lan")
    page.get_by_label("Cán bộ Một cửa").check()
    page.get_by_label("Đơn vị", exact=True).select_option("HCC-HN")
    page.get_by_role("button", name="Tạo người dùng").click()
    assert page.get_by_role("heading", name="Đã tạo người dùng lan.pt").is_visible()
    new_password = page.locator("#new-password").inner_text().strip()
    assert len(new_password) >= 20 and new_password not in page.url
    check_accessibility(page, "admin-user-password")
    other = new_page(phone=True)
    sign_in(other, "lan.pt", new_password)
    assert "/login" not in other.url

    page.get_by_role("link", name="Đã ghi lại – xem người dùng").click()
    check_accessibility(page, "admin-user")
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Người dùng").click()
    assert page.get_by_role("link", name="lan.pt").is_visible()
    check_accessibility(page, "admin-users")
    screenshot(page, "quan-tri-nguoi-dung")

    # A key for the one-stop system: shown once, and it works against the API.
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Khóa API").click()
    check_accessibility(page, "admin-keys-empty")
    page.get_by_role("link", name="Tạo khóa API").click()
    page.get_by_label("Đơn vị").select_option("HCC-HN")
    page.get_by_label("Tên khóa").fill("Hệ thống một cửa tỉnh")
    page.get_by_role("button", name="Tạo khóa").click()
    raw = page.locator("#api-key").inner_text().strip()
    assert raw.startswith("pb_") and page.locator("#webhook-secret").inner_text().strip().startswith("whsec_")
    check_accessibility(page, "admin-key-secret")
    request = urllib.request.Request(f"{live.url}/api/v1/carriers", headers={"Authorization": f"Bearer {raw}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200 and isinstance(json.loads(answer.read()), list)
    page.get_by_role("link", name="Đã ghi lại – xem khóa").click()
    assert raw not in page.content()
    check_accessibility(page, "admin-key")
    screenshot(page, "quan-tri-khoa-api")
    page.get_by_role("link", name="Thu hồi khóa…").click()
    check_accessibility(page, "admin-key-revoke")
    page.get_by_role("link", name="Không, quay lại").click()

    # The outbox: each failure said in words with what to do, the technical text folded away.
    _dead(live, OutboxKind.NOTIFY_DOSSIER, "the receiver answered 410 Gone; endpoint disabled")
    _dead(live, OutboxKind.SEND_SMS, "CodeResult 108: malformed phone number")
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Hàng đợi").click()
    page.get_by_role("link", name="Thất bại, đã ngừng thử").click()
    assert page.get_by_text("Hệ thống bên ngoài đang gặp lỗi (HTTP 5xx).", exact=False).is_visible()
    assert page.get_by_text("Hệ thống một cửa đã trả lời 410 Gone", exact=False).is_visible()
    assert page.get_by_text("Số điện thoại của công dân không nhận được tin nhắn", exact=False).is_visible()
    raw = page.get_by_text("courier answered HTTP 503", exact=False)
    assert not raw.is_visible()  # folded in its <details> until asked for
    page.locator("details.outbox-error__raw").filter(has_text="HTTP 503").locator("summary").click()
    assert raw.is_visible()
    check_accessibility(page, "admin-outbox-failed")
    screenshot(page, "quan-tri-hang-doi-that-bai")

    # The dead label job is replayed, the page says what happened.
    assert page.get_by_role("cell", name="Tạo nhãn bưu gửi").is_visible()
    page.get_by_label(f"Chọn mục {label_id} để chạy lại").check()
    page.get_by_role("button", name="Chạy lại mục đã chọn").click()
    assert f"#{label_id}" in page.get_by_role("status").first.inner_text()
    check_accessibility(page, "admin-outbox")
    screenshot(page, "quan-tri-hang-doi")
    with live.deps.uow() as uow:
        assert uow.outbox.get(label_id).state in (OutboxState.PENDING, OutboxState.IN_FLIGHT, OutboxState.DONE)
        assert uow.outbox.get(label_id).attempts <= 1

    # Couriers and SMS of the agency.
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Hãng vận chuyển, SMS").click()
    assert page.get_by_role("heading", name="sandbox").is_visible()
    if "ghn" in live.deps.known_carriers:  # a courier account: its token typed twice, then shown masked
        ghn = page.locator("#carrier-ghn")
        ghn.get_by_label("Cho đơn vị dùng hãng này").check()
        ghn.get_by_label("Tên (ví dụ base_url, token, shop_id)").fill("token")
        ghn.get_by_label("Giá trị", exact=True).fill("ghn-token-0123456789")
        ghn.get_by_label("Nhập lại giá trị (với thiết lập bí mật)").fill("ghn-token-0123456789")
        ghn.get_by_role("button", name="Lưu thiết lập ghn").click()
        assert "****89" in page.locator("#carrier-ghn").inner_text()
        assert "ghn-token-0123456789" not in page.content()
    check_accessibility(page, "admin-carriers")
    screenshot(page, "quan-tri-hang-van-chuyen")
    assert page.console_errors == [] and other.console_errors == []


def test_the_other_admin_pages_are_accessible_on_desktop_and_phone(live, new_page, admin_site) -> None:
    username, password = admin_site
    for phone in (False, True):
        page = new_page(phone=phone)
        sign_in(page, username, password)
        for path in (
            "/admin",
            "/admin/agencies",
            "/admin/agencies/new",
            "/admin/agencies/HCC-HN",
            "/admin/wards?province=01&q=ba",
            "/admin/post-offices",
            "/admin/post-offices/DEMO-HN-01",
            "/admin/users/new",
            "/admin/carriers?agency=HCC-HN",
            "/admin/outbox",
        ):
            page.goto(path)
            assert page.locator("h1").is_visible(), path
            check_accessibility(page, f"admin{path}{' phone' if phone else ''}")
        page.goto("/admin/agencies/HCC-HN")
        page.locator("#phone").fill("123")
        page.get_by_role("button", name="Lưu thay đổi").click()
        assert page.locator("#phone").get_attribute("aria-invalid") == "true"
        check_accessibility(page, "admin-agency-errors")
        assert page.console_errors == []
