"""A citizen on a phone: opens the link from the SMS, sees the masked data, asks for a code, reads it from the text
message, enters it, moves the delivery day and sees the new date; then the counter marks the request handled."""

from __future__ import annotations

import re

from postal_bridge.services import agencies, sms
from tests.browser.conftest import check_accessibility, screenshot, sign_in
from tests.integration.test_citizen import create_return

LINK = re.compile(r"Tra cuu: (\S+/t/[A-Za-z0-9_-]+)")
CODE = re.compile(r"Ma xac thuc cua ban la ([0-9]{6})")


def _texts(live, consignment_id: str, event: str) -> list[str]:
    """What the citizen's phone was sent, through the service (the console gateway keeps no ledger)."""
    live.drain()
    return [m.text for m in sms.messages_of(live.deps, consignment_id) if m.event == event]


def test_a_citizen_moves_the_delivery_day_from_the_sms_link(live, new_page) -> None:
    caller = agencies.authenticate(
        live.deps, agencies.create_api_key(live.deps, agency_code="HCC-HN", name="one-stop").api_key
    )
    cid = create_return(live.deps, caller)
    (booked,) = _texts(live, cid, "booked")
    link = LINK.search(booked)
    assert link, booked

    page = new_page(phone=True)
    page.goto(link.group(1))
    assert page.get_by_role("heading", name="Kết quả thủ tục hành chính gửi qua bưu điện").is_visible()
    assert page.get_by_text("Nguyễn T. H.").is_visible() and page.get_by_text("09xx xxx 678").first.is_visible()
    assert page.get_by_text("Phường Ba Đình, Thành phố Hà Nội").is_visible()
    content = page.content()
    assert "0912345678" not in content and "Láng Hạ" not in content and "Nguyễn Thị Hằng" not in content
    check_accessibility(page, "citizen-track")
    screenshot(page, "cong-dan-theo-doi")

    page.get_by_label("Đổi ngày phát").check()
    page.get_by_role("button", name="Nhận mã").click()
    assert page.get_by_role("heading", name="Nhập mã xác thực").is_visible()
    (text,) = _texts(live, cid, "otp")
    code = CODE.search(text)
    assert code, text
    box = page.get_by_label("Mã xác thực")
    assert box.get_attribute("autocomplete") == "one-time-code" and box.get_attribute("inputmode") == "numeric"
    box.fill("000000" if code.group(1) != "000000" else "111111")
    page.get_by_role("button", name="Xác nhận").click()
    assert "Bạn còn 4 lần thử" in page.get_by_text("Mã chưa đúng").inner_text()
    check_accessibility(page, "citizen-code-error")
    page.get_by_label("Mã xác thực").fill(code.group(1))
    check_accessibility(page, "citizen-code")
    screenshot(page, "cong-dan-nhap-ma")
    page.get_by_role("button", name="Xác nhận").click()

    assert page.get_by_role("heading", name="Đổi ngày phát").is_visible()
    choices = page.get_by_role("radio")
    assert choices.count() == 5
    chosen = choices.nth(2)
    day_label = page.locator("label.choice").nth(2).inner_text().strip()
    chosen.check()
    check_accessibility(page, "citizen-reschedule")
    screenshot(page, "cong-dan-doi-lich")
    page.get_by_role("button", name="Đổi ngày phát").click()

    assert page.get_by_text("Đã ghi nhận ngày phát bạn chọn").is_visible()
    eta = page.locator(".track-eta").inner_text()
    assert day_label in eta and "ngày bạn đã chọn" in eta
    assert page.get_by_text("Đang chờ Bộ phận Một cửa xử lý").is_visible()
    check_accessibility(page, "citizen-track-after")
    assert page.console_errors == []

    username, password = live.user("hoa.nt", "counter", full_name="Nguyễn Thị Hoa")
    desk = new_page()
    sign_in(desk, username, password)
    desk.get_by_role("link", name="Yêu cầu của công dân").click()
    assert desk.get_by_role("heading", name="Yêu cầu của công dân").is_visible()
    assert desk.get_by_text("Nguyễn Thị Hằng").is_visible()
    check_accessibility(desk, "counter-requests")
    screenshot(desk, "quay-yeu-cau-cong-dan")
    desk.get_by_label("Ghi chú (không bắt buộc)").fill("Đã báo Bưu cục Ba Đình")
    desk.get_by_role("button", name=re.compile("^Đã xử lý")).click()
    assert desk.get_by_text("Đã ghi nhận: yêu cầu đã được xử lý.").is_visible()
    assert desk.get_by_text("Không có yêu cầu nào đang chờ.").is_visible()
    assert desk.console_errors == []
