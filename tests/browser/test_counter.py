"""The counter staff's pages in a real browser: sign in → type (or scan) a dossier code → the citizen is filled from
the dossier system's snapshot → return → the price and the exact texts → one button books and prints (a PDF of the
label and the Phiếu gửi) → the day's list → the detail page; the attention list with an address to confirm; a
request typed by hand with the ward type-ahead. axe-core on every page, desktop and phone, and the screenshots of
the docs."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from pypdf import PdfReader

from postal_bridge.domain.status import STATUS_LABELS_VI, Status
from postal_bridge.services import agencies
from tests.browser.conftest import check_accessibility, screenshot, sign_in
from tests.integration.test_dossier_snapshots import CODE, snapshot_body

SPLIT_CODE = "000.00.12.H56-261203-0012"


@pytest.fixture
def counter_site(live):
    """A counter user of HCC-HN, an API key of the agency's dossier system, and one dossier it sent."""
    key = agencies.create_api_key(live.deps, agency_code="HCC-HN", name="one-stop").api_key
    user = live.user("motcua.thu", "counter", full_name="Phạm Thị Lan")
    return user, key


def _put_snapshot(page, key: str, code: str = CODE) -> None:
    answer = page.request.put(
        f"/api/v1/dossiers/{code}", data=snapshot_body(code), headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status in (200, 201), answer.text()


def _create_with_old_address(page, key: str) -> None:
    """A return whose address names a commune that the 2025 merger split: it waits for the counter to confirm."""
    body = {
        "kind": "return",
        "carrier": "sandbox",
        "service": "standard",
        "dossier": {"code": SPLIT_CODE, "procedure_name": "Cấp Phiếu lý lịch tư pháp"},
        "citizen": {
            "name": "Lê Thị Thử",
            "phone": "0912 000 012",
            "address": {"text": "Số 9 phố Hoàng Hoa Thám, Phường Ngọc Hà, Quận Ba Đình, Hà Nội"},
        },
        "parcel": {"weight_g": 250, "contents": "Kết quả TTHC"},
    }
    answer = page.request.post(
        "/api/v1/consignments",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert answer.status == 201, answer.text()


def test_type_the_code_see_the_citizen_book_print_and_find_it_today(live, new_page, counter_site) -> None:
    (username, password), key = counter_site
    page = new_page()
    _put_snapshot(page, key)
    sign_in(page, username, password)

    # /counter is the counter's home: the scan box has the focus.
    assert page.url.endswith("/counter")
    code_box = page.get_by_label("Mã hồ sơ")
    assert code_box.evaluate("el => el === document.activeElement")
    check_accessibility(page, "counter-scan")
    screenshot(page, "quay-quet-ma-ho-so")

    # A scanner types the code and presses Enter.
    code_box.fill(CODE.lower())
    code_box.press("Enter")
    page.wait_for_load_state()
    assert page.get_by_text("Thông tin lấy từ Hệ thống thông tin một cửa điện tử").is_visible()
    facts = page.locator("dl.facts").inner_text()
    assert "Nguyễn Thị Hằng" in facts and "0912 345 678" in facts and "Phường Láng" in facts
    assert page.locator('input[name="citizen_name"]').count() == 0  # shown, never retyped

    page.get_by_label("Trả kết quả tại nhà", exact=True).check()
    page.get_by_label("Kết quả đã có: đặt bưu gửi trả kết quả ngay").check()
    page.get_by_role("button", name="Cập nhật cước và tin nhắn").click()
    page.wait_for_load_state()
    assert page.get_by_label("Trả kết quả tại nhà", exact=True).is_checked()
    fees = page.locator("#courier").inner_text()
    assert re.search(r"Trả kết quả tại nhà: [\d.]+\s?(đ|₫)", fees), fees
    sms = page.get_by_role("region", name="Tin nhắn công dân sẽ nhận")
    texts = sms.locator(".sms-text").all_inner_texts()
    assert texts and all(t.isascii() for t in texts)  # the exact texts, without diacritics
    assert "1 tin nhắn" in sms.inner_text()
    check_accessibility(page, "counter-request")
    screenshot(page, "quay-yeu-cau-moi")

    # One button books; the courier has not given its code yet, so the page says the label is being prepared.
    page.get_by_role("button", name="Đặt bưu gửi và in nhãn + Phiếu gửi").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Đang chuẩn bị nhãn và Phiếu gửi").is_visible()
    page.get_by_role("link", name="Dừng tự tải lại").click()  # no reload racing the drain below
    page.wait_for_load_state()
    check_accessibility(page, "counter-preparing")
    screenshot(page, "quay-dang-chuan-bi-nhan")
    live.drain()  # the booking and the label rendering jobs
    print_url = page.get_by_role("link", name="In nhãn và Phiếu gửi").get_attribute("href")
    printed = page.request.get(print_url)
    assert printed.status == 200 and printed.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(printed.body())).pages) >= 2  # the label, then the Phiếu gửi

    # The day's list has it, its status in Vietnamese words.
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Hôm nay").click()
    page.wait_for_load_state()
    row = page.locator("table.data tbody tr", has_text=CODE)
    assert row.count() == 1
    assert "Trả kết quả" in row.inner_text() and "Nguyễn Thị Hằng" in row.inner_text()
    assert row.locator(".status-pill").inner_text().strip() == STATUS_LABELS_VI[Status.BOOKED]
    check_accessibility(page, "counter-today")
    screenshot(page, "quay-danh-sach-hom-nay")

    # The filter by code keeps it; another code empties the list.
    page.get_by_label("Mã hồ sơ hoặc mã bưu gửi").fill("000.00.12.H56-999999-9999")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    assert page.get_by_text("Không có bưu gửi nào.").is_visible()

    page.goto(f"/counter/today?q={CODE}")
    page.get_by_role("link", name=CODE).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Hành trình").is_visible()
    assert page.get_by_role("link", name="In lại nhãn").is_visible()
    check_accessibility(page, "counter-detail")
    screenshot(page, "quay-chi-tiet")
    assert page.console_errors == []

    # The same screens on a phone.
    phone = new_page(phone=True)
    sign_in(phone, username, password)
    phone.goto(f"/counter?code={CODE}")
    assert phone.get_by_text("Nguyễn Thị Hằng").first.is_visible()
    check_accessibility(phone, "counter-request-phone")
    screenshot(phone, "quay-yeu-cau-moi-dien-thoai")
    phone.goto("/counter/today")
    check_accessibility(phone, "counter-today-phone")
    phone.get_by_role("link", name=CODE).first.click()
    phone.wait_for_load_state()
    check_accessibility(phone, "counter-detail-phone")
    assert phone.console_errors == []


def test_attention_list_confirms_an_address_of_a_split_commune(live, new_page, counter_site) -> None:
    (username, password), key = counter_site
    page = new_page()
    _create_with_old_address(page, key)
    live.drain()
    sign_in(page, username, password)
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Cần xử lý").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Địa chỉ cần xác nhận: 1").is_visible()
    item = page.locator("article.attention-item", has_text=SPLIT_CODE)
    assert item.count() == 1
    check_accessibility(page, "counter-attention")
    screenshot(page, "quay-can-xu-ly")

    item.get_by_label("Phường Ba Đình, Thành phố Hà Nội").check()
    item.get_by_role("button", name="Xác nhận địa chỉ").click()
    page.wait_for_load_state()
    assert page.url.endswith("/counter/attention")
    assert page.get_by_role("link", name="Địa chỉ cần xác nhận: 0").is_visible()

    phone = new_page(phone=True)
    sign_in(phone, username, password)
    phone.goto("/counter/attention")
    check_accessibility(phone, "counter-attention-phone")
    assert page.console_errors == [] and phone.console_errors == []


def test_without_a_snapshot_the_citizen_is_typed_with_the_ward_type_ahead(live, new_page, counter_site) -> None:
    (username, password), _ = counter_site
    page = new_page()
    sign_in(page, username, password)
    unknown = "000.00.12.H56-261203-0077"
    page.get_by_label("Mã hồ sơ").fill(unknown)
    page.get_by_label("Mã hồ sơ").press("Enter")
    page.wait_for_load_state()
    assert page.get_by_text("Hệ thống một cửa chưa gửi dữ liệu của hồ sơ này.").is_visible()
    assert page.get_by_role("group", name="Công dân (nhập tay tại quầy)").is_visible()

    page.get_by_label("Họ và tên").fill("Đỗ Văn Bình")
    page.get_by_label("Điện thoại di động").fill("+84 912 345 679")
    page.get_by_label("Tỉnh / thành phố").select_option("01")
    ward = page.get_by_label("Xã / phường (danh mục 2025)")
    ward.press_sequentially("lang", delay=30)
    page.locator("#ward-options option").first.wait_for(state="attached")  # our own JSON, by session
    offered = page.locator("#ward-options option").evaluate_all("os => os.map(o => o.value)")
    assert "Phường Láng" in offered
    ward.fill("Phường Láng")
    page.get_by_label("Số nhà, đường phố, thôn / xóm / tổ").fill("Số 5 ngõ 10 phố Chùa Láng")
    page.get_by_role("button", name="Cập nhật cước và tin nhắn").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").filter(has_text="Số đã chuẩn hóa:").inner_text().count("0912 345 679") == 1
    assert page.locator("#courier input[type=radio]").count() >= 1
    check_accessibility(page, "counter-request-typed")
    screenshot(page, "quay-yeu-cau-nhap-tay")
    assert page.console_errors == []
