"""What every administrator page shares: the blueprint and its guard, the caller, field errors in the page's
language, Vietnamese labels for the outbox, and one-time forms for the pages that show a secret once."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from postal_bridge.domain.admin import OutboxView
from postal_bridge.domain.errors import PostalBridgeError, ValidationFailed
from postal_bridge.domain.model import OutboxKind
from postal_bridge.services.agencies import Caller
from postal_bridge.web.auth import ERROR_MESSAGES, agency_caller, require_role

bp = Blueprint("admin_web", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only():
    """Every page here: anonymous visitors sign in first, other roles get 403 (one guard, no page can forget it)."""
    return require_role("admin")(lambda: None)()


def deps():
    return current_app.extensions["postal_bridge"].deps


def admin() -> Caller:
    return agency_caller()


def page_error(status: int, message: str):
    return current_app.extensions["postal_bridge.page_error"](status, message)


# -------------------------------------------------------------------------------------------------- labels

KIND_LABELS: dict[OutboxKind, object] = {
    OutboxKind.BOOK: _l("Đặt đơn với hãng vận chuyển"),
    OutboxKind.CANCEL_WITH_CARRIER: _l("Hủy đơn với hãng vận chuyển"),
    OutboxKind.RENDER_LABEL: _l("Tạo nhãn bưu gửi"),
    OutboxKind.NOTIFY_DOSSIER: _l("Báo hệ thống một cửa (webhook)"),
    OutboxKind.APPLY_TRACKING: _l("Cập nhật hành trình từ hãng"),
    OutboxKind.SEND_SMS: _l("Gửi tin nhắn SMS cho công dân"),
}
VIEW_LABELS: dict[OutboxView, object] = {
    OutboxView.OPEN: _l("Chưa xong"),
    OutboxView.PENDING: _l("Chờ xử lý"),
    OutboxView.RETRYING: _l("Đang thử lại"),
    OutboxView.IN_FLIGHT: _l("Đang xử lý"),
    OutboxView.DEAD: _l("Thất bại, đã ngừng thử"),
    OutboxView.DONE: _l("Đã xong"),
}
USER_STATUS_LABELS = {
    "active": _l("Đang hoạt động"),
    "locked": _l("Tạm khóa (nhập sai mật khẩu)"),
    "disabled": _l("Đã vô hiệu hóa"),
}
PRINTER_LABELS = {
    "pdf": _l("PDF (máy in văn phòng)"),
    "zpl203": _l("ZPL 203 dpi (máy in nhãn)"),
    "zpl300": _l("ZPL 300 dpi (máy in nhãn)"),
}


ACTION_LABELS = {
    "auth.signed_in": _l("Đã đăng nhập"),
    "auth.signed_out": _l("Đã đăng xuất"),
    "auth.sign_in_failed": _l("Đăng nhập bị từ chối"),
    "auth.locked": _l("Bị tạm khóa vì nhập sai mật khẩu"),
    "user.created": _l("Đã tạo người dùng"),
    "user.updated": _l("Đã sửa người dùng"),
    "user.disabled": _l("Đã vô hiệu hóa tài khoản"),
    "user.enabled": _l("Đã cho phép đăng nhập lại"),
    "user.unlocked": _l("Đã mở khóa tài khoản"),
    "user.password_reset": _l("Đã đặt lại mật khẩu"),
    "user.password_changed": _l("Đã tự đổi mật khẩu"),
    "api_key.created": _l("Đã tạo khóa API"),
    "api_key.revoked": _l("Đã thu hồi khóa API"),
    "api_key.secret_rotated": _l("Đã đổi khóa bí mật webhook"),
    "api_key.callback_changed": _l("Đã đổi địa chỉ nhận thông báo"),
    "agency.created": _l("Đã thêm đơn vị"),
    "agency.updated": _l("Đã sửa đơn vị"),
    "post_office.created": _l("Đã thêm bưu cục"),
    "post_office.updated": _l("Đã sửa bưu cục"),
    "carrier.configured": _l("Đã thiết lập hãng vận chuyển"),
    "sms.configured": _l("Đã thiết lập SMS"),
    "outbox.replayed": _l("Đã chạy lại việc trong hàng đợi"),
}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"action_label": lambda action: ACTION_LABELS.get(action, action)}


# -------------------------------------------------------------------------------------------------- errors

# Services speak English (their messages are shared with the JSON API and the CLI); the pages show them in the page's
# language. Exact messages live in ``auth.ERROR_MESSAGES``; messages carrying a value are matched here.
EXACT: dict[str, object] = {
    "3–32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.": _l(
        "3–32 ký tự: chữ thường không dấu, chữ số, '.', '_' hoặc '-', bắt đầu bằng chữ hoặc số."
    ),
    "This username is taken.": _l("Tên đăng nhập này đã có người dùng."),
    "Must be one of: counter, clerk, admin.": _l("Hãy chọn một vai trò."),
    "Must be one of: pdf, zpl203, zpl300.": _l("Hãy chọn một kiểu in nhãn."),
    "A clerk belongs to a post office: give --post-office (and no --agency).": _l(
        "Nhân viên bưu chính thuộc một bưu cục: hãy chọn bưu cục."
    ),
    "A counter user belongs to an agency: give --agency (and no --post-office).": _l(
        "Cán bộ Một cửa thuộc một đơn vị: hãy chọn đơn vị."
    ),
    "A admin user belongs to an agency: give --agency (and no --post-office).": _l(
        "Quản trị viên thuộc một đơn vị: hãy chọn đơn vị."
    ),
    "At most 200 characters.": _l("Tối đa 200 ký tự."),
    "At most 500 characters.": _l("Tối đa 500 ký tự."),
    "At most 2000 characters.": _l("Tối đa 2000 ký tự."),
    "Required, at most 100 characters.": _l("Bắt buộc, tối đa 100 ký tự."),
    "Required, at most 200 characters.": _l("Bắt buộc, tối đa 200 ký tự."),
    "Province code is two digits of the 2025 list (e.g. 01).": _l("Hãy chọn tỉnh, thành phố (danh sách 2025)."),
    "Ward code is five digits of the 2025 list (e.g. 00004).": _l(
        "Mã phường, xã gồm 5 chữ số theo danh sách 2025 (ví dụ 00004)."
    ),
    "Street line is required, at most 200 characters.": _l("Địa chỉ (số nhà, đường) là bắt buộc, tối đa 200 ký tự."),
    "phone number may contain only digits, spaces, +, -, . and parentheses": _l(
        "Số điện thoại chỉ gồm chữ số, dấu cách, +, -, . và dấu ngoặc."
    ),
    "this is an old 11-digit mobile number; use the 10-digit number since 2018": _l(
        "Đây là số di động 11 số cũ; hãy dùng số 10 chữ số (từ năm 2018)."
    ),
    "not a Vietnamese mobile (10 digits, 03/05/07/08/09) or landline (11 digits, 02…) number": _l(
        "Không phải số di động (10 số, đầu 03/05/07/08/09) hay số cố định (11 số, đầu 02) của Việt Nam."
    ),
    "2–32 characters: capital letters, digits, '.', '_' or '-' (e.g. HCC-HN).": _l(
        "2–32 ký tự: chữ in hoa không dấu, chữ số, '.', '_' hoặc '-' (ví dụ HCC-HN)."
    ),
    "This code is taken.": _l("Mã này đã có đơn vị dùng."),
    "Choose an agency.": _l("Hãy chọn đơn vị."),
    "Callback URL must be an absolute http(s) URL.": _l("Địa chỉ nhận thông báo phải là URL http(s) đầy đủ."),
    "Callback URL must not carry credentials.": _l("Địa chỉ nhận thông báo không được chứa tên đăng nhập, mật khẩu."),
    "A setting's name is 1–40 lower-case letters, digits or '_', starting with a letter.": _l(
        "Tên thiết lập gồm 1–40 chữ thường không dấu, chữ số hoặc '_', bắt đầu bằng chữ."
    ),
    "The sender must not be empty.": _l("Tên người gửi không được để trống."),
    "The sender may contain only unaccented letters, digits, spaces, '.' and '-'.": _l(
        "Tên người gửi chỉ gồm chữ không dấu, chữ số, dấu cách, '.' và '-'."
    ),
    "Choose at least one dead item.": _l("Hãy chọn ít nhất một mục thất bại."),
    "At most 200 items at a time.": _l("Mỗi lần tối đa 200 mục."),
    "The file is larger than 1 MB.": _l("Tệp lớn hơn 1 MB."),
    "The file is not UTF-8 text (save it as CSV UTF-8).": _l("Tệp không phải văn bản UTF-8 (hãy lưu dạng CSV UTF-8)."),
    "Choose a CSV file.": _l("Hãy chọn một tệp CSV."),
    "Change your own password on the account page.": _l("Hãy đổi mật khẩu của chính bạn ở trang Tài khoản."),
    "You cannot disable your own account.": _l("Bạn không thể tự vô hiệu hóa tài khoản của mình."),
    "This key is already revoked.": _l("Khóa này đã bị thu hồi trước đó."),
    "This key is revoked.": _l("Khóa này đã bị thu hồi."),
    "No user with this id.": _l("Không có người dùng này."),
    "No API key with this id.": _l("Không có khóa API này."),
    # The post-office CSV, line by line
    "the file is empty; expected a header line": _l("tệp trống; dòng đầu phải là dòng tiêu đề các cột"),
    "column missing from the header": _l("thiếu cột này ở dòng tiêu đề"),
    "column appears twice in the header": _l("cột này xuất hiện hai lần ở dòng tiêu đề"),
    "value missing (too few columns)": _l("thiếu giá trị (dòng có ít cột hơn tiêu đề)"),
    "required, at most 200 characters": _l("bắt buộc, tối đa 200 ký tự"),
    "required, at most 300 characters": _l("bắt buộc, tối đa 300 ký tự"),
}
PATTERNS: list[tuple[re.Pattern[str], object]] = [
    (re.compile(r"No agency with code '(?P<code>[^']*)'"), _l("Không có đơn vị mã %(code)s.")),
    (re.compile(r"No post office with code '(?P<code>[^']*)'"), _l("Không có bưu cục mã %(code)s.")),
    (
        re.compile(r"Ward (?P<ward>\S+) is not in the 2025 list"),
        _l("Mã %(ward)s không có trong danh sách phường, xã năm 2025."),
    ),
    (
        re.compile(r"Ward (?P<ward>\S+) \((?P<name>.*)\) belongs to province (?P<p>\d+), not (?P<q>\d+)"),
        _l("%(name)s (%(ward)s) thuộc tỉnh mã %(p)s, không phải tỉnh mã %(q)s."),
    ),
    (
        re.compile(r"Callback host '(?P<host>[^']*)' does not resolve"),
        _l("Không tìm thấy máy chủ %(host)s (tên miền không phân giải được)."),
    ),
    (
        re.compile(r"Callback URL resolves to a private, loopback or link-local address \((?P<ip>[^)]*)\)"),
        _l(
            "Địa chỉ này trỏ vào mạng nội bộ (%(ip)s): không được phép, để tránh bị lợi dụng truy cập hệ thống bên "
            "trong (SSRF)."
        ),
    ),
    (
        re.compile(r"Must be (?P<n>\d+) \(the standard overlap\) or 0"),
        _l("Chọn %(n)s giờ (thời gian chuyển tiếp chuẩn) hoặc 0 (bỏ khóa cũ ngay)."),
    ),
    (re.compile(r"Unknown courier '(?P<code>[^']*)'"), _l("Không có hãng vận chuyển %(code)s.")),
    (
        re.compile(r"The sender must be at most (?P<n>\d+) characters, not (?P<m>\d+)"),
        _l("Tên người gửi tối đa %(n)s ký tự (đang có %(m)s)."),
    ),
    (re.compile(r"unknown column; expected (?P<cols>.*)"), _l("cột không có trong mẫu; các cột là %(cols)s")),
    (re.compile(r"malformed CSV"), _l("dòng CSV sai định dạng (dấu ngoặc kép không đóng?)")),
    (
        re.compile(r"(?P<n>\d+) values for (?P<m>\d+) columns"),
        _l("dòng có %(n)s giá trị nhưng tiêu đề chỉ có %(m)s cột"),
    ),
    (
        re.compile(r"'(?P<v>[^']*)' is not an office code"),
        _l("'%(v)s' không phải mã bưu cục (1–32 chữ cái, chữ số, '.', '_' hoặc '-')"),
    ),
    (
        re.compile(r"'(?P<v>[^']*)' is not a 2025 ward code"),
        _l("'%(v)s' không phải mã phường, xã 2025 (5 chữ số, ví dụ 00004)"),
    ),
    (
        re.compile(r"'(?P<v>[^']*)' is not a 2025 province code"),
        _l("'%(v)s' không phải mã tỉnh 2025 (2 chữ số, ví dụ 01)"),
    ),
    (re.compile(r"'(?P<v>[^']*)' is not a latitude"), _l("'%(v)s' không phải vĩ độ ở Việt Nam (8–24)")),
    (re.compile(r"'(?P<v>[^']*)' is not a longitude"), _l("'%(v)s' không phải kinh độ ở Việt Nam (102–110)")),
    (
        re.compile(r"(?P<code>\S+) already appears on line (?P<n>\d+)"),
        _l("mã %(code)s đã có ở dòng %(n)s"),
    ),
    (
        re.compile(r"(?P<col>ward_code|service_wards) (?P<w>\d+) is not a 2025 ward"),
        _l("%(w)s không có trong danh sách phường, xã năm 2025"),
    ),
    (
        re.compile(r"(?P<col>ward_code|service_wards) (?P<w>\d+) \((?P<name>.*)\) is in province (?P<p>\d+)"),
        _l("%(name)s (%(w)s) thuộc tỉnh mã %(p)s; bưu cục không phục vụ tỉnh khác"),
    ),
]


def translate(message: str) -> str:
    """A service's English message in the page's language; an unknown one is shown as it is."""
    known = EXACT.get(message)
    if known is None and message in ERROR_MESSAGES:
        known = ERROR_MESSAGES[message]
    if known is not None:
        return str(known)
    for pattern, text in PATTERNS:
        m = pattern.search(message)
        if m:
            return str(text) % {k: v for k, v in m.groupdict().items()}
    return message


def field_errors(exc: ValidationFailed) -> dict[str, list[str]]:
    """``{field: [message]}`` in the page's language; nested fields are flattened to their last name."""
    out: dict[str, list[str]] = {}

    def walk(errors: Mapping[str, Any], prefix: str = "") -> None:
        for name, value in errors.items():
            if isinstance(value, Mapping):
                walk(value, name)
            else:
                messages = value if isinstance(value, list | tuple) else [value]
                out.setdefault(name or prefix, []).extend(translate(str(m)) for m in messages)

    walk(exc.errors)
    return out


def message_of(exc: PostalBridgeError) -> str:
    return translate(exc.message)


# ------------------------------------------------------------------------------------ forms that show a secret once

USED_FORMS = "admin_used_forms"


def once_token() -> str:
    """A fresh id for a form whose answer shows a secret once (a new password, a key, a webhook secret)."""
    return secrets.token_urlsafe(12)


def already_sent(token: str | None) -> bool:
    """True when this form was already answered: reloading the answer page must not issue a second secret."""
    return bool(token) and token in session.get(USED_FORMS, [])


def mark_sent(token: str | None) -> None:
    if token:
        used = [t for t in session.get(USED_FORMS, []) if t != token][-29:]
        session[USED_FORMS] = [*used, token]


def resent_page():
    return page_error(
        409,
        _(
            "Biểu mẫu này đã được gửi. Mật khẩu, khóa và khóa bí mật chỉ hiện một lần, ngay sau khi tạo; "
            "không tạo thêm lần nữa."
        ),
    )
