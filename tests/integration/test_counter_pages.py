"""The counter staff's pages through the Flask client, on the real database and Redis: the request screen filled
from the dossier system's snapshot (or typed, and marked so), CSRF, one consignment per form however often it is
sent, both = a pickup and a return, printing as one PDF once booked, the day's list, the attention list with the
address confirmation, cancelling, and agency isolation (another agency's consignment is a 404 like an unknown one)."""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from postal_bridge.services import accounts, agencies
from tests.conftest import drain, form_token, register_hanoi
from tests.integration.test_dossier_snapshots import CODE, snapshot_body
from tests.pdf_tools import pdftotext

PASSWORD = "mật khẩu quầy một cửa"


class Counter:
    def __init__(self, container) -> None:
        from postal_bridge import create_app

        self.container = container
        register_hanoi(container.deps)
        agencies.register_agency(
            container.deps,
            code="HCC-TQ",
            name="Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
            phone="02073822525",
            line="Số 1 đường 17/8",
            ward_code="02215",
            province_code="08",
        )
        self.key = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="one-stop").api_key
        for username, agency in (("hoa", "HCC-HN"), ("nam", "HCC-TQ")):
            accounts.create_user(
                container.deps,
                username=username,
                role="counter",
                agency_code=agency,
                password=PASSWORD,
                full_name=username.title(),
            )
        self.app = create_app(container=container)
        self.app.config["COUNTER_PRINT_WAIT_SECONDS"] = 0
        self.api = self.app.test_client()

    def client(self, username: str = "hoa"):
        client = self.app.test_client()
        token = form_token(client)
        answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303
        return client

    def put_snapshot(self, code: str = CODE, **changes) -> None:
        resp = self.api.put(
            f"/api/v1/dossiers/{code}",
            json=snapshot_body(code, **changes),
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert resp.status_code in (200, 201), resp.get_data(as_text=True)

    def api_create(self, body: dict) -> str:
        resp = self.api.post(
            "/api/v1/consignments",
            json=body,
            headers={"Authorization": f"Bearer {self.key}", "Idempotency-Key": str(uuid.uuid4())},
        )
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.get_json()["id"]

    def rows(self, sql: str, **params) -> list[dict]:
        with self.container.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    def audit(self, action: str) -> list[dict]:
        return self.rows("SELECT * FROM audit_log WHERE action = :a ORDER BY id", a=action)


@pytest.fixture
def counter(container) -> Counter:
    return Counter(container)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


def same_page(answer, consignment_id: str) -> str:
    """The page without what differs between any two answers: the id asked for, and the CSRF token (signed with
    its time, so two pages rendered a second apart carry different ones)."""
    html = answer.get_data(as_text=True).replace(consignment_id, "ID")
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', html)


def opened(client, code: str = CODE) -> tuple[str, dict]:
    """The request screen for a dossier code, and the form fields it carries."""
    page = client.get(f"/counter?code={code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    return html, {
        "csrf_token": hidden(html, "csrf_token"),
        "nonce": hidden(html, "nonce"),
        "dossier_code": hidden(html, "dossier_code"),
    }


def test_counter_is_the_staff_home_and_needs_a_counter_user(counter: Counter) -> None:
    anonymous = counter.app.test_client().get("/counter")
    assert anonymous.status_code == 302 and "/login?next=/counter" in anonymous.headers["Location"]
    client = counter.client()
    home = client.get("/")
    assert home.headers["Location"].endswith("/counter")
    page = client.get("/counter").get_data(as_text=True)
    assert 'id="code"' in page and "autofocus" in page and "Mã hồ sơ" in page


def test_the_screen_is_filled_from_the_dossier_system_never_retyped(counter: Counter) -> None:
    counter.put_snapshot()
    client = counter.client()
    html, _ = opened(client, CODE.lower())  # a scanner may send lower case
    assert "Thông tin lấy từ Hệ thống thông tin một cửa điện tử" in html
    assert "Nguyễn Thị Hằng" in html and "0912 345 678" in html and "Phường Láng" in html
    assert "Cấp Phiếu lý lịch tư pháp" in html and "15/12/2026" in html
    assert 'name="citizen_name"' not in html  # nothing to retype
    assert 'value="return" checked' in html  # the citizen's own choice, from the dossier system
    # The quote and the exact texts with their length are there before anything is booked.
    assert re.search(r"Trả kết quả tại nhà: [\d.]+ đ", html)
    assert "Ket qua ho so cua ban se duoc gui qua buu dien" in html and "1 tin nhắn" in html
    assert counter.rows("SELECT * FROM consignments") == []
    viewed = counter.audit("counter.dossier_viewed")
    assert len(viewed) == 1 and viewed[0]["subject"] == f"dossier:HCC-HN:{CODE}" and viewed[0]["actor"] == "user:hoa"
    english = client.get(f"/counter?code={CODE}&lang=en").get_data(as_text=True)
    assert "Taken from the one-stop electronic information system" in english


def test_a_form_without_its_csrf_token_books_nothing(counter: Counter) -> None:
    counter.put_snapshot()
    client = counter.client()
    _, fields = opened(client)
    del fields["csrf_token"]
    refused = client.post("/counter/new", data={**fields, "choice": "return", "action": "book", "result_ready": "1"})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert counter.rows("SELECT * FROM consignments") == []


def test_the_same_form_sent_twice_books_one_consignment_and_prints_label_and_slip(counter: Counter) -> None:
    counter.put_snapshot()
    client = counter.client()
    _, fields = opened(client)
    form = {**fields, "choice": "return", "result_ready": "1", "weight_g": "250", "action": "book"}
    first = client.post("/counter/new", data=form)
    assert first.status_code == 303, first.get_data(as_text=True)
    again = client.post("/counter/new", data=form)  # a double click, or the back button and Enter
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    rows = counter.rows("SELECT * FROM consignments")
    assert len(rows) == 1
    c = rows[0]
    assert (c["kind"], c["status"], c["dossier_code"]) == ("return", "requested", CODE)
    assert (c["citizen_name"], c["citizen_phone"], c["ward_code"]) == ("Nguyễn Thị Hằng", "+84912345678", "00199")
    assert (c["citizen_id_type"], c["citizen_id_last4"]) == ("cccd", "2345")  # the clerk checks it at the door
    options = c["options"] if isinstance(c["options"], dict) else json.loads(c["options"])
    assert options["citizen_source"] == "dossier_system" and "awaiting_result" not in options
    booked = counter.audit("counter.consignment_booked")
    assert len(booked) == 1 and booked[0]["subject"] == f"consignment:{c['id']}"

    waiting = client.get(first.headers["Location"])  # the courier has not given a code yet
    assert waiting.status_code == 200 and waiting.mimetype == "text/html"
    assert waiting.headers["Refresh"] == "2" and "Đang chuẩn bị nhãn và Phiếu gửi" in waiting.get_data(as_text=True)
    stopped = client.get(first.headers["Location"] + "&wait=0")
    assert "Refresh" not in stopped.headers

    drain(counter.container)
    printed = client.get(first.headers["Location"])
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    pdf = PdfReader(io.BytesIO(printed.data))
    assert len(pdf.pages) == 2  # the 100×150 label, then the Phiếu gửi
    words = pdftotext(printed.data)
    tracking = counter.rows("SELECT tracking_code FROM consignments")[0]["tracking_code"]
    assert tracking in words and "PHIẾU GỬI" in words.upper() and "Nguyễn Thị Hằng" in words
    logged = counter.rows("SELECT document, reprint FROM label_prints ORDER BY printed_at, document")
    assert {r["document"] for r in logged} == {"label", "slip"}
    assert len(counter.audit("counter.printed")) == 1


def test_both_books_a_pickup_now_and_a_return_that_waits_for_the_result(counter: Counter) -> None:
    counter.put_snapshot(preference="both")
    client = counter.client()
    html, fields = opened(client)
    assert 'value="both" checked' in html
    answer = client.post("/counter/new", data={**fields, "choice": "both", "weight_g": "300", "action": "book"})
    assert answer.status_code == 303
    assert client.post("/counter/new", data={**fields, "choice": "both", "weight_g": "300", "action": "book"})
    rows = counter.rows("SELECT kind, status, dossier_code FROM consignments ORDER BY kind")
    assert rows == [
        {"kind": "pickup", "status": "requested", "dossier_code": CODE},
        {"kind": "return", "status": "awaiting_result", "dossier_code": CODE},
    ]
    drain(counter.container)
    printed = client.get(answer.headers["Location"])
    assert printed.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(printed.data)).pages) == 2  # the pickup's label and slip; the return's later


def test_a_changed_form_with_the_same_nonce_is_refused_not_booked_again(counter: Counter) -> None:
    counter.put_snapshot()
    client = counter.client()
    _, fields = opened(client)
    assert client.post("/counter/new", data={**fields, "choice": "return", "action": "book"}).status_code == 303
    changed = client.post("/counter/new", data={**fields, "choice": "return", "weight_g": "900", "action": "book"})
    assert changed.status_code == 409
    assert "đã được đặt với nội dung khác" in changed.get_data(as_text=True)
    assert len(counter.rows("SELECT id FROM consignments")) == 1


def test_without_a_snapshot_the_staff_types_the_citizen_and_the_address_is_resolved(counter: Counter) -> None:
    client = counter.client()
    code = "000.00.12.H56-261203-0077"
    html, fields = opened(client, code)
    assert "Hệ thống một cửa chưa gửi dữ liệu của hồ sơ này" in html and 'name="citizen_name"' in html
    typed = {
        **fields,
        "choice": "return",
        "result_ready": "1",
        "citizen_name": "Trần Văn Minh",
        "citizen_phone": "+84 98 765 4321",
        "province_code": "01",
        "ward_query": "lang",  # no accents: Phường Láng
        "address_line": "Số 7 ngõ 15 phố Láng Hạ",
        "weight_g": "250",
        "action": "preview",
    }
    shown = client.post("/counter/new", data=typed)
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200, page
    assert 'value="Phường Láng"' in page and 'name="ward_code" value="00199"' in page
    assert "0987 654 321" in page  # the number as it will be used, shown back
    assert "Ket qua ho so cua ban se duoc gui qua buu dien" in page
    chosen = {**typed, "ward_query": "Phường Láng", "ward_code": "00199", "action": "book"}
    booked = client.post("/counter/new", data=chosen)
    assert booked.status_code == 303, re.findall(r'<li><a href="#[^"]+">[^<]+', booked.get_data(as_text=True))
    c = counter.rows("SELECT * FROM consignments")[0]
    options = c["options"] if isinstance(c["options"], dict) else json.loads(c["options"])
    assert options["citizen_source"] == "counter" and c["citizen_phone"] == "+84987654321"
    assert (c["ward_code"], c["address_line"]) == ("00199", "Số 7 ngõ 15 phố Láng Hạ")


def test_bad_input_is_shown_next_to_its_field_and_books_nothing(counter: Counter) -> None:
    client = counter.client()
    _, fields = opened(client, "000.00.12.H56-261203-0078")
    bad = client.post(
        "/counter/new",
        data={
            **fields,
            "choice": "return",
            "citizen_name": "",
            "citizen_phone": "0123 456 7890",  # an old 11-digit mobile
            "province_code": "01",
            "ward_query": "không có phường này",
            "address_line": "",
            "weight_g": "0",
            "action": "book",
        },
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'id="citizen_name" name="citizen_name"' in page and 'aria-describedby="citizen_name-error"' in page
    assert "Bắt buộc." in page
    assert "Đây là số di động 11 số cũ; từ năm 2018 số mới là 0834 567 890." in page
    assert 'name="citizen_phone_fix" value="0834 567 890"' in page  # one press to use the new number
    assert "Tỉnh/thành phố đã chọn không có xã/phường tên này." in page
    assert "Khối lượng từ 1 đến 30.000 gam." in page
    assert counter.rows("SELECT * FROM consignments") == []
    bad_code = client.get("/counter?code=%21%21")
    assert bad_code.status_code == 422 and "Mã hồ sơ gồm 3–64 chữ" in bad_code.get_data(as_text=True)


def test_another_agencys_consignment_answers_like_an_unknown_one(counter: Counter) -> None:
    counter.put_snapshot()
    hoa = counter.client()
    _, fields = opened(hoa)
    hoa.post("/counter/new", data={**fields, "choice": "return", "result_ready": "1", "action": "book"})
    drain(counter.container)
    cid = counter.rows("SELECT id FROM consignments")[0]["id"]
    assert hoa.get(f"/counter/consignments/{cid}").status_code == 200
    nam = counter.client("nam")
    other = str(uuid.uuid4())
    unknown = nam.get(f"/counter/consignments/{other}")
    theirs = nam.get(f"/counter/consignments/{cid}")
    assert theirs.status_code == unknown.status_code == 404
    assert same_page(theirs, cid) == same_page(unknown, other)
    for path in (f"/counter/print?id={cid}", f"/counter/consignments/{cid}/label", f"/counter/consignments/{cid}/slip"):
        assert nam.get(path).status_code == 404, path
    token = form_token(nam, "/counter")
    assert nam.post(f"/counter/consignments/{cid}/cancel", data={"csrf_token": token}).status_code == 404
    assert counter.rows("SELECT status FROM consignments")[0]["status"] == "booked"
    assert "Nguyễn Thị Hằng" not in nam.get("/counter/today").get_data(as_text=True)
    assert "Nguyễn Thị Hằng" not in nam.get(f"/counter?code={CODE}").get_data(as_text=True)  # its snapshot too


def _api_body(kind: str, n: int, **address) -> dict:
    return {
        "kind": kind,
        "carrier": "sandbox",
        "service": "standard",
        "dossier": {"code": f"000.00.12.H56-261203-{n:04d}", "procedure_name": "Cấp Phiếu lý lịch tư pháp"},
        "citizen": {
            "name": f"Lê Thị Thử {n}",
            "phone": f"0912 000 {n:03d}",
            "address": address or {"line": f"Số {n} phố Huế", "ward_code": "00256", "province_code": "01"},
        },
        "parcel": {"weight_g": 250, "contents": "Kết quả TTHC"},
    }


def test_todays_list_filters_by_status_kind_courier_and_code(counter: Counter, clock) -> None:
    ret = counter.api_create(_api_body("return", 1))
    pickup = counter.api_create(_api_body("pickup", 2))
    clock.advance(-2 * 86400)
    counter.api_create(_api_body("return", 3))  # two days ago: not today
    clock.advance(2 * 86400)
    drain(counter.container)
    client = counter.client()
    page = client.get("/counter/today").get_data(as_text=True)
    assert "000.00.12.H56-261203-0001" in page and "000.00.12.H56-261203-0002" in page
    assert "000.00.12.H56-261203-0003" not in page and "2 bưu gửi" in page
    assert "Đã tạo bưu gửi" in page  # the status in words
    pickups = client.get("/counter/today?kind=pickup").get_data(as_text=True)
    assert f"/counter/consignments/{pickup}" in pickups and f"/counter/consignments/{ret}" not in pickups
    searched = client.get("/counter/today?q=261203-0001").get_data(as_text=True)
    assert f"/counter/consignments/{ret}" in searched and "1 bưu gửi" in searched
    assert "0 bưu gửi" in client.get("/counter/today?status=delivered").get_data(as_text=True)
    assert "1 bưu gửi" in client.get("/counter/today?carrier=sandbox&kind=return").get_data(as_text=True)
    day = (clock.now().date()).isoformat()
    assert client.get(f"/counter/today?day={day}").status_code == 200
    assert client.get("/counter/today?status=bogus").status_code == 400


def test_attention_lists_failures_addresses_to_confirm_and_confirms_them(counter: Counter) -> None:
    failed = counter.api_create(_api_body("return", 11))
    split = counter.api_create(
        _api_body("return", 12, text="Số 9 phố Hoàng Hoa Thám, Phường Ngọc Hà, Quận Ba Đình, Hà Nội")
    )
    drain(counter.container)
    with counter.container.engine.begin() as conn:
        conn.execute(text("UPDATE consignments SET status = 'delivery_failed' WHERE id = :id"), {"id": failed})
    client = counter.client()
    page = client.get("/counter/attention").get_data(as_text=True)
    assert "Phát không thành công: 1" in page and "Địa chỉ cần xác nhận: 1" in page
    assert "000.00.12.H56-261203-0011" in page and "000.00.12.H56-261203-0012" in page
    assert 'name="ward_code" value="00004"' in page  # the wards the old commune became
    token = form_token(client, "/counter/attention")
    done = client.post(
        f"/counter/consignments/{split}/address", data={"csrf_token": token, "ward_code": "00004", "back": "attention"}
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/counter/attention")
    row = counter.rows(
        "SELECT address_status, ward_code, address_confirmed_by FROM consignments WHERE id = :i", i=split
    )
    assert row == [{"address_status": "confirmed", "ward_code": "00004", "address_confirmed_by": "Hoa"}]
    confirmed = counter.audit("counter.address_confirmed")
    assert len(confirmed) == 1 and confirmed[0]["subject"] == f"consignment:{split}"
    assert "Địa chỉ cần xác nhận: 0" in client.get("/counter/attention").get_data(as_text=True)


def test_overdue_items_are_listed_with_their_deadline(counter: Counter, clock) -> None:
    from postal_bridge.services import sla

    late = counter.api_create({**_api_body("return", 21), "options": {"awaiting_result": True}})
    with counter.container.engine.begin() as conn:
        conn.execute(text("UPDATE consignments SET appointment_date = '2020-01-06' WHERE id = :id"), {"id": late})
    assert sla.scan(counter.container.deps) >= 1
    page = counter.client().get("/counter/attention").get_data(as_text=True)
    assert "Quá hạn theo quy định: 1" in page and "Quá ngày hẹn trả mà chưa có kết quả" in page


def test_the_detail_page_shows_the_timeline_and_cancels_while_allowed(counter: Counter) -> None:
    cid = counter.api_create(_api_body("return", 31))
    client = counter.client()
    page = client.get(f"/counter/consignments/{cid}").get_data(as_text=True)
    assert "Hành trình" in page and "Đã đăng ký gửi" in page and "Hủy bưu gửi này" in page
    token = form_token(client, f"/counter/consignments/{cid}")
    assert client.post(f"/counter/consignments/{cid}/cancel", data={"reason": "Công dân đổi ý"}).status_code == 400
    done = client.post(f"/counter/consignments/{cid}/cancel", data={"csrf_token": token, "reason": "Công dân đổi ý"})
    assert done.status_code == 303
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Đã hủy bưu gửi." in after and "Hủy bưu gửi này" not in after
    audit = counter.audit("counter.consignment_cancelled")
    details = audit[0]["details"] if isinstance(audit[0]["details"], dict) else json.loads(audit[0]["details"])
    assert details["before"] == {"status": "requested"} and details["after"] == {"status": "cancelled"}
    assert "Công dân đổi ý" not in json.dumps(details, ensure_ascii=False)


def test_the_pages_json_needs_a_session_and_the_csrf_header(counter: Counter) -> None:
    anonymous = counter.app.test_client()
    assert anonymous.get("/counter/api/provinces/01/wards?q=lang").status_code == 302
    client = counter.client()
    wards = client.get("/counter/api/provinces/01/wards?q=lang").get_json()
    assert {"code": "00199", "name": "Phường Láng", "province_code": "01"} in wards
    assert client.get("/counter/api/provinces/99/wards").status_code == 404
    assert len(client.get("/counter/api/provinces").get_json()) == 34
    text_address = {"text": "Số 5 ngõ 2, Phường Trúc Bạch, Quận Ba Đình, Thành phố Hà Nội"}
    assert client.post("/counter/api/addresses/resolve", json=text_address).status_code == 400  # no CSRF token
    token = form_token(client, "/counter")
    resolved = client.post("/counter/api/addresses/resolve", json=text_address, headers={"X-CSRFToken": token})
    assert resolved.status_code == 200 and resolved.get_json()["candidates"][0]["ward_code"] == "00004"
