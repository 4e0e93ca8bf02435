"""The counter staff's pages (Bộ phận Một cửa), role ``counter`` (and an agency's admin):

* ``/counter`` — one screen per request: type or scan the dossier code; the citizen comes from the dossier system's
  snapshot (typed by hand only when there is none, and marked so); return, pickup or both; courier and service with
  their prices; the exact texts the citizen will get; one button books and prints the label + Phiếu gửi.
* ``/counter/print?id=…`` — the labels and slips as one PDF once booked, else a page that refreshes itself.
* ``/counter/today`` — the day's consignments with filters; ``/counter/attention`` — what needs someone;
  ``/counter/consignments/<id>`` — one consignment: timeline, reprints, cancel, address confirmation.
* ``/counter/api/…`` — the pages' own JSON (ward type-ahead, address resolution), by session, never by API key.

Another agency's consignment answers exactly like an unknown one (404). Every core action is a plain form
(POST-redirect-GET, 303); ``static/js/counter.js`` only adds the ward type-ahead.
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app
from flask_babel import lazy_gettext as _l

from postal_bridge.domain.phone import Phone
from postal_bridge.services import counter as svc
from postal_bridge.web import nav
from postal_bridge.web.auth import ERROR_MESSAGES

bp = Blueprint("counter", __name__, url_prefix="/counter")
ROLES = ("counter", "admin")

nav.register("counter", "counter.new", _l("Yêu cầu mới"), order=10)
nav.register("counter", "counter.today", _l("Hôm nay"), order=20)
nav.register("counter", "counter.attention", _l("Cần xử lý"), order=30)


def deps():
    return current_app.extensions["postal_bridge"].deps


CHOICE_LABELS = {
    "return": _l("Trả kết quả tại nhà"),
    "pickup": _l("Nhận hồ sơ tại nhà"),
    "both": _l("Cả hai: nhận hồ sơ và trả kết quả tại nhà"),
}
PREFERENCE_LABELS = {
    "return": _l("Nhận kết quả tại nhà"),
    "pickup": _l("Gửi hồ sơ từ nhà"),
    "both": _l("Gửi hồ sơ và nhận kết quả tại nhà"),
    "counter": _l("Chưa đăng ký dịch vụ bưu chính"),
}
SMS_EVENTS = {
    "booked": _l("Khi đã tạo bưu gửi"),
    "out_for_delivery": _l("Khi bưu tá đi phát"),
    "delivery_failed": _l("Nếu phát không thành công"),
    "available_for_pickup": _l("Nếu mời nhận tại bưu cục"),
    "delivered": _l("Khi đã phát thành công"),
    "returned_to_agency": _l("Nếu chuyển hoàn về cơ quan"),
    "result_ready_early": _l("Nếu có kết quả sớm hơn ngày hẹn"),
}
REASONS = {
    "delivery_failed": _l("Phát không thành công"),
    "address_unconfirmed": _l("Địa chỉ cần xác nhận (xã/phường cũ bị chia tách)"),
    "transit_overdue": _l("Quá thời hạn chuyển phát (J+n)"),
    "result_overdue": _l("Quá ngày hẹn trả mà chưa có kết quả"),
    "invitation_overdue": _l("Đã mời nhận 2 lần, phải chuyển hoàn kết quả về cơ quan"),
    "stale_custody": _l("Bưu gửi lâu không có cập nhật"),
    "complaint_overdue": _l("Quá hạn giải quyết khiếu nại"),
    "compensation_overdue": _l("Quá hạn chi trả bồi thường"),
}
SMS_STATUS = {
    "queued": _l("Chờ gửi"),
    "sent": _l("Đã gửi"),
    "delivered": _l("Đã đến máy"),
    "failed": _l("Gửi lỗi"),
    "skipped": _l("Không gửi"),
}
ID_TYPES = {"cccd": _l("Căn cước / CCCD"), "cmnd": _l("CMND"), "passport": _l("Hộ chiếu")}
DOCUMENTS = {"label": _l("Nhãn bưu gửi"), "slip": _l("Phiếu gửi")}
SKIP_REASONS = [  # services.sms.skip_reason's English, by its start
    ("SMS is turned off for this installation", _l("Hệ thống đang tắt tin nhắn: tin này sẽ không được gửi.")),
    ("SMS is turned off for this agency", _l("Cơ quan đang tắt tin nhắn: tin này sẽ không được gửi.")),
    ("the citizen's number cannot receive SMS", _l("Số máy bàn không nhận được tin nhắn: tin này sẽ không được gửi.")),
    ("the text cannot fit", _l("Tin nhắn quá dài, sẽ không được gửi.")),
]


def skip_text(reason: str | None) -> str | None:
    if not reason:
        return None
    return next((str(text) for start, text in SKIP_REASONS if reason.startswith(start)), reason)


MAX_WEIGHT_SHOWN = f"{svc.consignments.MAX_WEIGHT_G:,}".replace(",", ".")  # 30.000, as Vietnamese write it
# The services' English messages, in the page's language (auth.translate_error reads this table).
ERROR_MESSAGES.update(
    {
        svc.BAD_CODE: _l("Mã hồ sơ gồm 3–64 chữ, số hoặc các dấu . / _ -."),
        "Choose return, pickup or both.": _l("Chọn trả kết quả, nhận hồ sơ, hoặc cả hai."),
        "Choose the province.": _l("Chọn tỉnh/thành phố."),
        "Choose the ward.": _l("Chọn xã/phường trong danh sách."),
        "No ward of this province has this name.": _l("Tỉnh/thành phố đã chọn không có xã/phường tên này."),
        "No 2025 ward matches this address.": _l("Không tìm được xã/phường (danh mục 2025) cho địa chỉ này."),
        "The street line (house number, street, hamlet) is missing.": _l("Thiếu số nhà, đường phố hoặc thôn/xóm/tổ."),
        "A date, e.g. 2026-12-15.": _l("Nhập ngày, ví dụ 15/12/2026."),
        f"Must be between 1 and {svc.consignments.MAX_WEIGHT_G} grams.": _l(
            "Khối lượng từ 1 đến %(n)s gam.", n=MAX_WEIGHT_SHOWN
        ),
        "This courier gives no price for this address; choose another.": _l(
            "Đơn vị này không báo giá cho địa chỉ này; hãy chọn đơn vị khác."
        ),
        "No courier of this agency serves this address.": _l(
            "Chưa có đơn vị chuyển phát nào của cơ quan phục vụ địa chỉ này."
        ),
        "This form is incomplete; open a new request.": _l("Biểu mẫu không đầy đủ; hãy mở yêu cầu mới."),
        "Required for a return or transfer (a pickup may come before the dossier has a code).": _l(
            "Trả kết quả cần có mã hồ sơ (chỉ nhận hồ sơ mới được để trống)."
        ),
        "Street line is required, at most 200 characters.": _l(
            "Cần số nhà, đường phố hoặc thôn/xóm/tổ (tối đa 200 ký tự)."
        ),
        "The courier already has this consignment; it cannot be cancelled.": _l(
            "Bưu chính đã nhận bưu gửi này nên không hủy được nữa."
        ),
        "This consignment's address needs no confirmation.": _l("Địa chỉ của bưu gửi này không cần xác nhận."),
    }
)
# Messages with values in them, and what an unknown message on a field most likely means.
PATTERNS = [
    (
        re.compile(r"^This is an old 11-digit number; since 2018 it is (?P<n>[\d ]+)\.$"),
        _l("Đây là số di động 11 số cũ; từ năm 2018 số mới là %(n)s."),
    ),
    (re.compile(r"^Ward (?P<c>\d{5}) is not in the 2025 list"), _l("Mã xã/phường %(c)s không có trong danh mục 2025.")),
    (
        re.compile(r"^Ward (?P<c>\d{5}) \((?P<w>.+)\) belongs to province"),
        _l("%(w)s không thuộc tỉnh/thành phố đã chọn."),
    ),
    (re.compile(r"^Choose one of: "), _l("Chọn một xã/phường trong danh sách đề xuất.")),
]
FIELD_FALLBACK = {
    "citizen_phone": _l("Số điện thoại chưa đúng: số di động 10 số (03, 05, 07, 08, 09…) hoặc số cố định (02…)."),
    "ward_code": _l("Chọn xã/phường trong danh mục 2025 của tỉnh/thành phố đã chọn."),
    "courier": _l("Chọn đơn vị chuyển phát và dịch vụ trong danh sách."),
    "dossier_code": _l("Mã hồ sơ chưa đúng."),
}


@bp.context_processor
def _words() -> dict:
    return {
        "CHOICE_LABELS": CHOICE_LABELS,
        "PREFERENCE_LABELS": PREFERENCE_LABELS,
        "SMS_EVENTS": SMS_EVENTS,
        "REASONS": REASONS,
        "ID_TYPES": ID_TYPES,
        "DOCUMENTS": DOCUMENTS,
        "SMS_STATUS": SMS_STATUS,
    }


@bp.app_template_filter("counter_phone")
def phone_display(e164: str) -> str:
    """``+84912345678`` → ``0912 345 678`` (the way people read it out)."""
    if not e164:
        return "—"
    try:
        return Phone(e164).display
    except (IndexError, ValueError):
        return e164


@bp.app_template_filter("counter_skip")
def _skip_filter(reason: str | None) -> str:
    return skip_text(reason) or ""


def translate(field: str, message: str) -> str:
    known = ERROR_MESSAGES.get(message)
    if known is not None:
        return str(known)
    for pattern, template in PATTERNS:
        m = pattern.search(message)
        if m:
            return str(template) % m.groupdict()
    fallback = FIELD_FALLBACK.get(field)
    return str(fallback) if fallback is not None else message


def translated(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {field: [translate(field, m) for m in messages] for field, messages in errors.items()}


from postal_bridge.web.counter import api, lists, request  # noqa: E402,F401  (the routes)
