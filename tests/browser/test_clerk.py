"""The postal clerk's pages in a real browser: the scan page with a keyboard-wedge scanner (ok, duplicate, unknown,
a bad S10 check digit flagged on the device), the phone camera fed a QR code through Chromium's fake camera, a
handover session from opening to the printed Biên bản giao nhận, offline scans queued in IndexedDB and uploaded
exactly once, the delivery outcomes on a phone. axe-core on every page; the screenshots of the docs (buu-ta-*)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
import segno
from PIL import Image

from postal_bridge.domain import s10
from postal_bridge.domain.outcomes import set_citizen_id
from postal_bridge.domain.status import Status
from postal_bridge.services import agencies
from postal_bridge.services.clerk_scope import ClerkCaller
from postal_bridge.storage import tables as t
from postal_bridge.storage.post_offices import load_csv
from tests.browser.conftest import DESKTOP, PHONE, check_accessibility, screenshot, sign_in
from tests.conftest import ManualClock
from tests.integration.test_clerks import World, event
from tests.pdf_tools import pdftotext

DEMO = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")
OFFICE = "DEMO-HN-02"  # serves 00004, the HCC-HN centre's ward
STRANGER = "EB123456785VN"  # a valid S10 id that no item here has
BAD_CHECK = "EB123456784VN"  # the same with a wrong check digit


@pytest.fixture
def clock() -> ManualClock:
    """09:00 in Hà Nội on the latest morning: outside the SMS quiet hours, whatever hour the suite runs."""
    local = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    morning = local.replace(hour=9, minute=0, second=0, microsecond=0)
    if morning > local:
        morning -= timedelta(days=1)
    return ManualClock(morning.astimezone(UTC))


@pytest.fixture
def site(live):
    """The demo post offices, a clerk of the office serving HCC-HN, a counter officer of HCC-HN, and a World to
    create and move items through the services."""
    for office in load_csv(DEMO.read_text(encoding="utf-8")):
        live.deps.post_offices.upsert(office)
    issued = agencies.create_api_key(live.deps, agency_code="HCC-HN", name="one-stop")
    hn = agencies.authenticate(live.deps, issued.api_key)
    clerk = live.user("buucuc.badinh", "clerk", post_office_code=OFFICE, full_name="Trần Văn Bưu")
    counter = live.user("motcua.thu", "counter", full_name="Phạm Thị Lan")
    world = World(
        container=live.container,
        clock=live.clock,
        hn=hn,
        tq=hn,
        clerk_hn=ClerkCaller(user_id="u-setup", username="setup", post_office_code=OFFICE),
        clerk_tq=ClerkCaller(user_id="u-setup", username="setup", post_office_code=OFFICE),
    )
    return world, clerk, counter


def _at_office(w: World, n: int) -> list[str]:
    """n results handed to the post office (picked up by the courier: the clerk's "arrive" scan is next)."""
    ids = [w.create() for _ in range(n)]
    w.book(*ids)
    w.hand_to_post(*ids)
    return ids


def _open(page, live, path: str) -> None:
    """The browser's clock starts at the server's (a ManualClock): scans carry the device's time."""
    page.clock.install(time=live.clock.now())
    page.goto(path)


def _scan(page, code: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def _result(page, code_text: str):
    box = page.locator("#scan-result")
    page.wait_for_function(
        "([want]) => { const b = document.getElementById('scan-result');"
        " return b && !b.hidden && b.dataset.outcome && b.dataset.outcome !== 'waiting'"
        " && b.querySelector('[data-field=code]').textContent.replace(/ /g, '') === want; }",
        arg=[code_text.replace(" ", "")],
    )
    return box


def _scans(w: World) -> int:
    return w.count(t.scans)


def test_wedge_scans_show_ok_duplicate_unknown_and_a_bad_check_digit_at_once(live, new_page, site) -> None:
    w, (username, password), _ = site
    (item,) = _at_office(w, 1)
    code = w.code(item)
    page = new_page()
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.headers.get("x-csrftoken", "")) if "/clerk/api/" in r.url else None)
    sign_in(page, username, password)
    _open(page, live, "/clerk/scan")
    assert page.get_by_label("Mã bưu gửi").evaluate("el => el === document.activeElement")
    check_accessibility(page, "clerk-scan-empty")

    # The S10 check digit agrees with the server's for many serials.
    serials = [f"{n:08d}" for n in range(0, 99_999_999, 1_234_567)]
    assert page.evaluate("(xs) => xs.map((s) => clerk.s10.checkDigit(s))", serials) == [
        s10.check_digit(s) for s in serials
    ]

    _scan(page, code.lower())
    ok = _result(page, code)
    assert ok.get_attribute("data-outcome") == "accepted" and "scan-result--ok" in ok.get_attribute("class")
    assert "Đã ghi nhận" in ok.inner_text() and "✔" in ok.inner_text()
    assert w.get(item).status == Status.IN_TRANSIT

    # Focus stays in the input: the next scan goes straight in.
    _scan(page, code)
    dup = _result(page, code)
    page.wait_for_function("() => document.getElementById('scan-result').dataset.outcome === 'duplicate'")
    assert "Quét trùng" in dup.inner_text() and "⚠" in dup.inner_text()

    _scan(page, STRANGER)
    unknown = _result(page, s10.spaced(STRANGER))
    page.wait_for_function("() => document.getElementById('scan-result').dataset.outcome === 'unknown'")
    assert "Không có ở bưu cục này" in unknown.inner_text() and "✖" in unknown.inner_text()

    before, posted = _scans(w), len(uploads)
    _scan(page, BAD_CHECK)
    bad = _result(page, BAD_CHECK)
    assert bad.get_attribute("data-outcome") == "invalid_code"
    assert "Sai số kiểm tra" in bad.inner_text()
    page.wait_for_timeout(300)
    assert _scans(w) == before and len(uploads) == posted  # flagged on the device, never sent
    assert posted == 3 and all(uploads)  # one upload per scan, each with the session's CSRF token

    # A different tone for each outcome, the recent list newest first.
    assert page.evaluate("clerk.feedback.played.slice()") == ["ok", "warn", "bad", "bad"]
    outcomes = page.locator("#recent li").evaluate_all("els => els.map(e => e.dataset.outcome)")
    assert outcomes == ["invalid_code", "unknown", "duplicate", "accepted"]
    assert page.get_by_label("Mã bưu gửi").evaluate("el => el === document.activeElement")
    check_accessibility(page, "clerk-scan-results")
    screenshot(page, "buu-ta-quet")

    # The English page says the same in English.
    page.goto("/clerk/scan?lang=en")
    assert page.get_by_label("Item code").is_visible()
    page.goto("/clerk/scan?lang=vi")
    assert page.console_errors == []


def _y4m(image: Image.Image, frames: int = 10) -> bytes:
    """A raw YUV 4:2:0 video (the format Chromium's fake camera reads): grey picture, neutral colour."""
    width, height = image.size
    luma = image.convert("L").tobytes()
    chroma = bytes([128]) * (width // 2 * (height // 2))
    head = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    return head + b"".join(b"FRAME\n" + luma + chroma + chroma for _ in range(frames))


def _code128(code: str, module: int = 4, height: int = 260) -> Image.Image:
    """Code128 bars from reportlab's encoder: in ``decomposed`` capitals are bars, small letters spaces (A/a = 1)."""
    from reportlab.graphics.barcode.code128 import Code128

    symbol = Code128(code)
    symbol.validate()
    symbol.encode()
    symbol.decompose()
    widths = [(ch.isupper(), ord(ch.lower()) - ord("a") + 1) for ch in symbol.decomposed]
    total = sum(w for _, w in widths) + 20
    image = Image.new("L", (total * module, height), 255)
    x = 10 * module  # quiet zone
    for bar, w in widths:
        if bar:
            image.paste(0, (x, 0, x + w * module, height))
        x += w * module
    return image


def _qr(code: str) -> Image.Image:
    png = io.BytesIO()
    segno.make(code, error="m").save(png, kind="png", scale=10, border=4)
    png.seek(0)
    return Image.open(png).convert("L")


@pytest.mark.parametrize("symbology", ["qr_code", "code_128"])
def test_the_camera_reads_a_code_through_the_vendored_reader(live, site, launch_chromium, tmp_path, symbology) -> None:
    w, (username, password), _ = site
    (item,) = _at_office(w, 1)
    code = w.code(item)
    symbol = _qr(code) if symbology == "qr_code" else _code128(code)
    picture = Image.new("L", (1280, 720), 255)
    picture.paste(symbol, ((1280 - symbol.width) // 2, (720 - symbol.height) // 2))
    video = tmp_path / f"{symbology}.y4m"
    video.write_bytes(_y4m(picture))

    camera_browser = launch_chromium(
        [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
    )
    context = camera_browser.new_context(
        **DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", base_url=live.url, permissions=["camera"]
    )
    try:
        context.set_default_timeout(20_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, username, password)
        _open(page, live, "/clerk/scan")
        page.get_by_role("button", name="Quét bằng camera").click()
        box = _result(page, code)
        assert box.get_attribute("data-outcome") == "accepted"
        assert "Đã đọc" in page.locator("#camera-status").inner_text()
        assert page.locator("#camera-start").is_hidden()  # one way to stop it while it runs: "Tắt camera"
        assert w.get(item).status == Status.IN_TRANSIT
        if symbology == "qr_code":
            screenshot(page, "buu-ta-quet-camera", full_page=False)
        page.get_by_role("button", name="Tắt camera").click()
        assert page.locator("#camera").is_hidden() and page.locator("#camera-start").is_visible()
        assert errors == []
    finally:
        context.close()


def test_a_handover_session_from_opening_to_the_printed_record(live, new_page, site) -> None:
    w, (username, password), (officer, officer_password) = site
    a, b = w.create(), w.create()
    w.book(a, b)
    page = new_page()
    sign_in(page, username, password)
    _open(page, live, "/clerk/handovers")
    check_accessibility(page, "clerk-handovers")
    page.get_by_label("Nhận bàn giao từ cơ quan (kết quả, hồ sơ liên thông)").check()
    page.get_by_role("button", name="Mở phiên").click()
    page.wait_for_load_state()
    assert "/clerk/handovers/" in page.url
    expected = page.locator("[data-count=expected]")
    assert expected.inner_text() == "2"

    page.get_by_label("Mã bưu gửi").focus()
    _scan(page, w.code(a))
    assert _result(page, w.code(a)).get_attribute("data-outcome") == "accepted"
    page.wait_for_function("() => document.querySelector('[data-count=scanned]').textContent === '1'")
    assert page.locator("[data-count=missing]").inner_text() == "1"
    missing = page.locator("section[aria-labelledby=missing-title]").inner_text()
    assert w.code(b) in missing
    check_accessibility(page, "clerk-handover-session")
    screenshot(page, "buu-ta-ban-giao")

    page.get_by_label("Mật khẩu của bạn").fill(password)
    page.get_by_label("Họ tên người ký").nth(1).fill("Phạm Thị Lan")
    page.get_by_label("Tên đăng nhập của cán bộ").fill(officer)
    page.get_by_label("Mật khẩu của cán bộ").fill(officer_password)
    page.get_by_role("button", name="Hai bên xác nhận và lập biên bản").click()
    page.wait_for_load_state()
    assert "Hai bên đã xác nhận" in page.locator(".flashes").inner_text()
    assert w.get(a).status != Status.BOOKED and w.get(b).status == Status.BOOKED
    check_accessibility(page, "clerk-handover-confirmed")
    screenshot(page, "buu-ta-bien-ban")

    link = page.get_by_role("link", name="In Biên bản giao nhận (PDF)")
    pdf = page.request.get(link.get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdftotext(pdf.body())
    flat = text.replace(" ", "")
    assert "BIÊNBẢNGIAONHẬN" in flat and "TrầnVănBưu" in flat and "PhạmThịLan" in flat
    assert w.code(a) in flat and w.code(b) in flat  # handed over, and named as missing
    assert page.console_errors == []


def _context(browser, live, **options):
    base = dict(DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", base_url=live.url)
    base.update(options)
    context = browser.new_context(**base)
    context.set_default_timeout(10_000)
    return context


def test_offline_scans_wait_in_the_queue_and_upload_exactly_once(live, browser, site) -> None:
    w, (username, password), _ = site
    ids = _at_office(w, 3)
    codes = [w.code(i) for i in ids]
    context = _context(browser, live, service_workers="block")  # page.route sees every upload
    try:
        page = context.new_page()
        sign_in(page, username, password)
        _open(page, live, "/clerk/scan")
        before = _scans(w)

        context.set_offline(True)
        for code in codes:
            _scan(page, code)
        banner = page.locator("#sync-banner")
        page.wait_for_function("() => document.getElementById('sync-banner').dataset.count === '3'")
        assert banner.is_visible() and "3 chờ đồng bộ" in " ".join(banner.inner_text().split())
        assert page.locator("#recent li[data-outcome=waiting]").count() == 3
        check_accessibility(page, "clerk-scan-offline")
        screenshot(page, "buu-ta-ngoai-tuyen")
        assert _scans(w) == before

        # Back online, the first upload reaches the server but its answer is lost: the page keeps the queue and
        # sends the same client event ids again; the server records each scan once.
        uploads: list[int] = []

        def lose_first_answer(route) -> None:
            uploads.append(len(route.request.post_data_json["scans"]))
            if len(uploads) == 1:
                route.fetch()
                route.abort()
            else:
                route.continue_()

        page.route("**/clerk/api/scans", lose_first_answer)
        context.set_offline(False)
        page.wait_for_function("() => document.getElementById('sync-banner').hidden", timeout=30_000)
        assert uploads[:2] == [3, 3]
        assert _scans(w) == before + 3
        assert all(w.get(i).status == Status.IN_TRANSIT for i in ids)
        assert page.locator("#recent li[data-outcome=accepted]").count() == 3
    finally:
        context.close()


def test_the_service_worker_opens_the_scan_page_offline(live, browser, site) -> None:
    _, (username, password), _ = site
    context = _context(browser, live)
    try:
        page = context.new_page()
        sign_in(page, username, password)
        _open(page, live, "/clerk/scan")
        page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function("() => !!navigator.serviceWorker.controller")  # clients.claim() on activation
        context.set_offline(True)
        page.reload()
        assert page.get_by_label("Mã bưu gửi").is_visible()
        assert page.evaluate("typeof clerk.scan.scanCode") == "function"  # the scripts came from the cache
    finally:
        context.close()


def test_outcomes_on_a_phone_delivered_and_failed_with_the_legal_reason(live, new_page, site) -> None:
    w, (username, password), _ = site
    delivered, failed = _at_office(w, 2)
    w.scan(w.clerk_hn, *(event(w.code(i), w.clock.now(), "out_for_delivery") for i in (delivered, failed)))
    w.clock.advance(60)
    with w.deps.uow() as uow:
        c = uow.consignments.get(delivered)
        set_citizen_id(c, "cccd", "1234")
        uow.consignments.save(c)
        uow.commit()

    page = new_page(phone=True)
    sign_in(page, username, password)
    _open(page, live, "/clerk/scan")
    _scan(page, w.code(failed))  # one-handed: the same big input and buttons on a phone
    assert _result(page, w.code(failed)).get_attribute("data-outcome") == "already_applied"  # past "arrive"
    check_accessibility(page, "clerk-scan-phone")
    screenshot(page, "buu-ta-quet-dien-thoai")
    page.goto("/clerk")
    check_accessibility(page, "clerk-worklist")
    screenshot(page, "buu-ta-viec-hom-nay")
    page.get_by_role("link", name=w.code(delivered)).first.click()
    page.wait_for_load_state()
    check_accessibility(page, "clerk-item")
    page.locator("#delivered summary").click()
    assert page.get_by_label("Họ tên người được ủy quyền").is_hidden()  # only for an authorised receiver
    page.get_by_label("4 số cuối của giấy tờ").fill("9999")
    page.get_by_role("button", name="Xác nhận đã phát").click()
    page.wait_for_load_state()
    assert "không khớp" in page.locator("#id_last_digits-error").inner_text()
    assert w.get(delivered).status == Status.OUT_FOR_DELIVERY
    check_accessibility(page, "clerk-item-error")
    page.get_by_label("4 số cuối của giấy tờ").fill("1234")
    screenshot(page, "buu-ta-phat")
    page.get_by_role("button", name="Xác nhận đã phát").click()
    page.wait_for_load_state()
    assert w.get(delivered).status == Status.DELIVERED

    page.goto(f"/clerk/items/{w.code(failed)}")
    page.locator("#failed summary").click()
    page.get_by_label("Người nhận vắng mặt (mời nhận lại)").check()
    assert page.get_by_label("Họ tên người từ chối").is_hidden()
    screenshot(page, "buu-ta-phat-khong-thanh-cong")
    page.get_by_role("button", name="Ghi nhận phát không thành công").click()
    page.wait_for_load_state()
    assert w.get(failed).status == Status.DELIVERY_FAILED
    check_accessibility(page, "clerk-item-after")
    assert page.console_errors == []
    assert PHONE["viewport"]["width"] == page.viewport_size["width"]


def test_another_offices_item_is_not_found(live, new_page, site) -> None:
    w, (username, password), _ = site
    (item,) = _at_office(w, 1)
    code = w.code(item)
    other = live.user("buucuc.minhxuan", "clerk", post_office_code="DEMO-TQ-01")
    page = new_page()
    sign_in(page, *other)
    for path in (f"/clerk/items/{code}", f"/clerk/items/{STRANGER}"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 404, path
    page.goto("/clerk/scan")
    token = page.locator("input[name=csrf_token]").first.input_value()
    scan = {
        "client_event_id": str(uuid.uuid4()),
        "code": code,
        "mode": "arrive",
        "scanned_at": live.clock.now().isoformat(),
    }
    answer = page.request.post("/clerk/api/scans", data={"scans": [scan]}, headers={"X-CSRFToken": token})
    assert answer.status == 200 and answer.json()["results"][0]["outcome"] == "unknown"
    assert w.get(item).status == Status.PICKED_UP

    own = new_page()
    sign_in(own, username, password)
    assert own.goto(f"/clerk/items/{code}").status == 200
