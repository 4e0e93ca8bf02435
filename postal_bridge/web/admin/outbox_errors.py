"""What an outbox item's ``last_error`` means, in the administrator's language, and what to do about it.

The error texts are the ones our own code writes (``services.outbox`` and the handlers in ``services.booking``,
``services.notify``, ``services.sms``; the courier, SMS and webhook adapters' messages; and, for an unexpected
exception, ``"<ExceptionClass>: <message>"``). Each row of ``PATTERNS`` is one family of them: a regular expression
searched in the text (case-insensitive), the kinds it applies to (``None``: any), a Vietnamese sentence saying what went
wrong and one saying what to do. The first row that matches wins, so the specific rows come before the general
transport ones. A text no row knows gets the generic sentence of its kind (``GENERIC``).

``"gave up after N attempts: <reason>"`` (the retry budget spent) is taken apart first: the reason is explained and the
page says the item stopped after N attempts. Once an item has stopped, "it retries by itself" is no advice: a transient
failure says to replay once the fault is fixed, and a booking that may have reached the courier says that a replay
is safe: a replayed booking looks its order up by reference before it creates one (``services.booking.LOOK_UP_FIRST``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from postal_bridge.domain.model import OutboxKind

_K = OutboxKind
_CARRIER = frozenset({_K.BOOK, _K.CANCEL_WITH_CARRIER})
_WEBHOOK = frozenset({_K.NOTIFY_DOSSIER})
_SMS = frozenset({_K.SEND_SMS})
_GAVE_UP = re.compile(r"^gave up after (?P<attempts>\d+) attempts: ", re.IGNORECASE)


@dataclass(frozen=True)
class Pattern:
    name: str  # stable identifier (tests, and the page's data attribute for support)
    regex: re.Pattern[str]
    what: object  # lazy Vietnamese msgid; may use the regex's named groups as %(name)s
    todo: object  # while the item is still being tried
    kinds: frozenset[OutboxKind] | None = None
    todo_dead: object | None = None  # once it stopped, when that needs other advice than ``todo``


def _p(
    name: str, regex: str, what: object, todo: object, *, kinds=None, transient: bool = False, todo_dead=None
) -> Pattern:
    """A row; ``transient``: the system retries by itself, so once the item stopped the advice is to replay it when
    the fault is over (``REPLAY_WHEN_FIXED``) unless ``todo_dead`` says otherwise."""
    dead = todo_dead if todo_dead is not None else (REPLAY_WHEN_FIXED if transient else None)
    return Pattern(name, re.compile(regex, re.IGNORECASE), what, todo, kinds, dead)


REPLAY_WHEN_FIXED = _l("Hệ thống đã ngừng tự thử: khi sự cố đã hết, chọn mục và bấm \u201cChạy lại mục đã chọn\u201d.")
_RETRIES = _l("Không cần làm gì: hệ thống tự thử lại theo lịch.")
# A booking that may have reached the courier: a replay looks the order up by reference before creating one.
_REPLAY_LOOKS_UP_FIRST = _l(
    "Hệ thống đã ngừng tự thử. Hãng có thể đã có đơn, nhưng chạy lại vẫn an toàn: lần chạy lại tra đơn theo mã tham "
    "chiếu của bưu gửi trước khi đặt, nên không tạo hai đơn. Chạy lại khi hãng đã hoạt động bình thường."
)

PATTERNS: tuple[Pattern, ...] = (
    # -- courier bookings and cancellations (services/booking.py) -----------------------------------------------------
    _p(
        "carrier_not_enabled",
        r"carrier '(?P<carrier>[^']+)' is not (?:enabled for this agency|configured)",
        _l("Hãng vận chuyển %(carrier)s chưa được bật hoặc chưa được cấu hình cho đơn vị của bưu gửi."),
        _l("Bật hãng và nhập thông tin kết nối ở trang \u201cHãng vận chuyển, SMS\u201d, rồi chạy lại mục này."),
        kinds=_CARRIER,
    ),
    _p(
        "duplicate_reference",
        r"^duplicate reference but no order found",
        _l("Hãng báo đã có đơn với mã tham chiếu của bưu gửi nhưng chưa tra ra được đơn đó."),
        _l("Không cần làm gì: hệ thống tự tra lại đơn theo mã tham chiếu."),
        kinds=_CARRIER,
        todo_dead=_REPLAY_LOOKS_UP_FIRST,
    ),
    _p(
        "outcome_unknown",
        r"^outcome unknown, will look up",
        _l("Hãng không trả lời rõ khi đặt đơn: có thể hãng đã nhận đơn, có thể chưa."),
        _l("Không cần làm gì: lần thử sau hệ thống tra đơn theo mã tham chiếu trước, không đặt trùng."),
        kinds=_CARRIER,
        todo_dead=_REPLAY_LOOKS_UP_FIRST,
    ),
    _p(
        "cancel_refused",
        r"refused the cancel|cancel refused|refused the change",
        _l("Hãng từ chối hủy đơn (có thể bưu tá đã lấy hàng)."),
        _l("Gọi cho hãng để dừng hoặc nhận lại bưu gửi; chạy lại mục này không giúp được."),
        kinds=_CARRIER,
    ),
    _p(
        "address_unresolved",
        r"AddressNotResolvable|(?:province|ward|commune|district)s? (?:matching|named)|numeric province code",
        _l("Hãng không nhận ra địa chỉ của bưu gửi (tỉnh hoặc phường/xã không khớp danh mục của hãng)."),
        _l("Kiểm tra và sửa địa chỉ bưu gửi ở quầy, rồi chạy lại."),
    ),
    _p(
        "route_not_served",
        r"RouteNotServiceable|offers? (?:none of|no service)|does not deliver to this address",
        _l("Hãng không phục vụ tuyến hoặc dịch vụ này."),
        _l("Chọn hãng hoặc dịch vụ khác cho bưu gửi."),
    ),
    # -- credentials (couriers and SMS gateways) ----------------------------------------------------------------------
    _p(
        "credentials_refused",
        r"CarrierAuthError|(?:credentials|access token|token|login) refused|refused (?:the API token|a fresh)"
        r"|wrong ApiKey or SecretKey",
        _l("Bên ngoài từ chối thông tin đăng nhập của hệ thống (khóa API, mật khẩu hoặc mã truy cập sai, hết hạn)."),
        _l(
            "Kiểm tra thông tin kết nối của hãng ở trang \u201cHãng vận chuyển, SMS\u201d (với tin nhắn: cấu hình nhà "
            "cung cấp SMS của máy chủ), sửa rồi chạy lại."
        ),
    ),
    # -- callbacks to the one-stop system (services/notify.py, adapters/dossier/webhook.py) ---------------------------
    _p(
        "callback_key_revoked",
        r"callback endpoint was removed or revoked",
        _l("Khóa API nhận thông báo đã bị thu hồi hoặc không còn địa chỉ nhận (callback URL)."),
        _l("Nhập địa chỉ nhận ở trang Khóa API (hoặc cấp khóa mới cho hệ thống một cửa), rồi chạy lại."),
        kinds=_WEBHOOK,
    ),
    _p(
        "callback_gone",
        r"410 Gone|HTTP 410|endpoint disabled",
        _l("Hệ thống một cửa đã trả lời 410 Gone: địa chỉ nhận bị ngừng, các thông báo sau được giữ lại, không gửi."),
        _l("Khi bên nhận đã sửa xong, chọn mục, đánh dấu \u201cBật lại địa chỉ nhận đã báo ngừng\u201d rồi chạy lại."),
        kinds=_WEBHOOK,
    ),
    _p(
        "callback_url_refused",
        r"callback URL refused at send time",
        _l("Địa chỉ nhận bị chặn lúc gửi: tên miền đang trỏ tới một địa chỉ nội bộ hoặc không được phép."),
        _l("Kiểm tra tên miền của địa chỉ nhận với bên hệ thống một cửa; sửa ở trang Khóa API rồi chạy lại."),
        kinds=_WEBHOOK,
    ),
    _p(
        "webhook_secret_invalid",
        r"invalid webhook secret",
        _l("Khóa ký thông báo (webhook secret) không hợp lệ nên không ký được thông báo."),
        _l("Tạo khóa ký mới ở trang Khóa API, gửi cho bên hệ thống một cửa, rồi chạy lại."),
        kinds=_WEBHOOK,
    ),
    _p(
        "callback_signature_refused",
        r"^HTTP 40[13]\b",
        _l("Hệ thống một cửa từ chối thông báo (HTTP 401/403), thường vì chữ ký không khớp khóa ký của họ."),
        _l("Đối chiếu khóa ký (webhook secret) với bên hệ thống một cửa; khi hai bên đã khớp, chạy lại."),
        kinds=_WEBHOOK,
    ),
    _p(
        "callback_redirect",
        r"HTTP 3\d\d: redirects are not followed",
        _l("Hệ thống một cửa trả lời chuyển hướng (HTTP 3xx); thông báo không đi theo chuyển hướng."),
        _l("Sửa địa chỉ nhận thành địa chỉ mới ở trang Khóa API, rồi chạy lại."),
        kinds=_WEBHOOK,
    ),
    # -- texts to citizens (services/sms.py, adapters/sms/*) ----------------------------------------------------------
    _p(
        "sms_quiet_hours",
        r"^quiet hours$",
        _l("Tin nhắn đang chờ qua giờ nghỉ đêm (không nhắn tin cho công dân ban đêm)."),
        _l("Không cần làm gì: tin được gửi khi đến giờ gửi buổi sáng."),
        kinds=_SMS,
        transient=True,
    ),
    _p(
        "sms_maybe_sent",
        r"may or may not have been sent",
        _l("Không rõ tin đã đi hay chưa (nhà cung cấp SMS không trả lời rõ); hệ thống không gửi lại cho khỏi trùng."),
        _l("Xem các tin nhắn của bưu gửi; nếu công dân cần biết ngay, gọi điện cho họ."),
        kinds=_SMS,
    ),
    _p(
        "sms_bad_number",
        r"malformed phone number|invalid phone number|number as invalid|number is blocked",
        _l("Số điện thoại của công dân không nhận được tin nhắn (sai số hoặc bị chặn)."),
        _l("Kiểm tra số điện thoại với công dân và sửa ở bưu gửi; tin này không gửi lại được."),
        kinds=_SMS,
    ),
    _p(
        "sms_account",
        r"balance too low|no price list|brandname not registered|not registered for the brandname|not whitelisted"
        r"|IP address is locked|account is blocked|may not use the API",
        _l("Tài khoản SMS có vấn đề: hết tiền, tên thương hiệu chưa đăng ký, hoặc máy chủ chưa được phép gửi."),
        _l("Báo người phụ trách hợp đồng SMS xử lý với nhà cung cấp; xong thì chạy lại."),
        kinds=_SMS,
    ),
    _p(
        "sms_content_refused",
        r"registered customer-care template|content too long|content encoding|unsupported message type",
        _l("Nhà cung cấp SMS từ chối nội dung tin (không khớp mẫu đã đăng ký, quá dài hoặc sai mã ký tự)."),
        _l("Đăng ký mẫu tin với nhà cung cấp hoặc sửa mẫu tin nhắn; tin này không gửi lại được."),
        kinds=_SMS,
    ),
    # -- rate limits and transport, any kind (adapters/carriers/http.py, adapters/sms/base.py, webhook sender) --------
    _p(
        "rate_limited",
        r"rate limited|HTTP 429\b",
        _l("Bên nhận đang giới hạn số yêu cầu (gửi quá nhiều trong thời gian ngắn)."),
        _l("Không cần làm gì: hệ thống chờ đúng khoảng thời gian bên nhận yêu cầu (Retry-After) rồi gửi lại."),
        transient=True,
    ),
    _p(
        "tls_error",
        r"SSLError|certificate",
        _l("Lỗi chứng chỉ bảo mật HTTPS của bên nhận."),
        _l("Báo bên kia kiểm tra chứng chỉ HTTPS; trong lúc đó hệ thống tự thử lại."),
        transient=True,
    ),
    _p(
        "connect_timeout",
        r"ConnectTimeout|cannot connect|no connection within",
        _l("Không kết nối được tới hệ thống bên ngoài (hết thời gian chờ kết nối)."),
        _l(
            "Thường là sự cố mạng tạm thời: hệ thống tự thử lại. Nếu kéo dài, kiểm tra mạng, tường lửa của máy chủ "
            "hoặc hỏi bên kia."
        ),
        transient=True,
    ),
    _p(
        "read_timeout",
        r"ReadTimeout|no answer within",
        _l("Bên ngoài đã nhận yêu cầu nhưng không trả lời kịp."),
        _RETRIES,
        transient=True,
    ),
    _p(
        "connection_failed",
        r"ConnectionError|connection (?:failed|broken|refused|reset)|could not reach",
        _l("Kết nối tới hệ thống bên ngoài bị từ chối hoặc bị ngắt."),
        _l("Thường là sự cố tạm thời: hệ thống tự thử lại. Nếu kéo dài, hỏi bên kia máy chủ của họ có chạy không."),
        transient=True,
    ),
    _p(
        "answer_cut",
        r"ChunkedEncodingError|IncompleteRead|ProtocolError|transport error|request could not be sent",
        _l("Câu trả lời của bên ngoài bị cắt ngang giữa chừng."),
        _RETRIES,
        transient=True,
    ),
    _p(
        "malformed_answer",
        r"JSONDecodeError|malformed (?:JSON|answer)|answered (?:success )?without|not a GHTK envelope"
        r"|neither a PDF|without an SMSID",
        _l("Bên ngoài trả lời sai định dạng, hệ thống không đọc được câu trả lời."),
        _l("Thường do sự cố phía bên kia: hệ thống tự thử lại; nếu kéo dài, báo bên kia kèm chi tiết kỹ thuật."),
        transient=True,
    ),
    _p(
        "server_error",
        r"\bHTTP 5\d\d\b|internal error",
        _l("Hệ thống bên ngoài đang gặp lỗi (HTTP 5xx)."),
        _l("Không cần làm gì ngay: hệ thống tự thử lại. Nếu kéo dài nhiều giờ, báo bên kia."),
        transient=True,
    ),
    _p(
        "client_error",
        r"\bHTTP 4\d\d\b",
        _l("Bên nhận từ chối yêu cầu (HTTP 4xx)."),
        _l("Gửi chi tiết kỹ thuật cho bên kia kiểm tra; khi đã sửa, chạy lại."),
    ),
    _p(
        "database_error",
        r"OperationalError|DatabaseError|InterfaceError",
        _l("Lỗi cơ sở dữ liệu của chính hệ thống khi xử lý mục này."),
        _l("Báo đội vận hành kiểm tra máy chủ cơ sở dữ liệu; hệ thống tự thử lại."),
        transient=True,
    ),
)

# What the page says when no row knows the text: what kind of work failed, and the way to get help.
GENERIC: dict[OutboxKind, object] = {
    _K.BOOK: _l("Chưa đặt được đơn với hãng vận chuyển vì một lỗi hệ thống chưa mô tả được."),
    _K.CANCEL_WITH_CARRIER: _l("Chưa hủy được đơn với hãng vận chuyển vì một lỗi hệ thống chưa mô tả được."),
    _K.RENDER_LABEL: _l("Chưa tạo được nhãn bưu gửi vì một lỗi hệ thống chưa mô tả được."),
    _K.NOTIFY_DOSSIER: _l("Chưa báo được cho hệ thống một cửa vì một lỗi hệ thống chưa mô tả được."),
    _K.APPLY_TRACKING: _l("Chưa cập nhật được hành trình từ hãng vì một lỗi hệ thống chưa mô tả được."),
    _K.SEND_SMS: _l("Chưa gửi được tin nhắn cho công dân vì một lỗi hệ thống chưa mô tả được."),
}
GENERIC_TODO = _l("Gửi số mục và chi tiết kỹ thuật cho đội kỹ thuật; sau khi họ sửa, chạy lại.")


@dataclass(frozen=True)
class Explanation:
    what: str  # what went wrong, in the page's language
    todo: str  # what the administrator does next
    pattern: str  # the row of PATTERNS that matched, or "generic"
    gave_up_after: int | None = None  # the retry budget was spent after this many attempts


def match(reason: str, kind: OutboxKind) -> tuple[Pattern, dict[str, str]] | None:
    """The first row that knows ``reason`` for this kind, and its named groups."""
    for pattern in PATTERNS:
        if pattern.kinds is not None and kind not in pattern.kinds:
            continue
        found = pattern.regex.search(reason)
        if found:
            return pattern, {k: v or "" for k, v in found.groupdict().items()}
    return None


def explain(last_error: str | None, kind: OutboxKind, *, dead: bool = False) -> Explanation | None:
    """``last_error`` (already scrubbed) in words. ``dead``: the item stopped, so "it retries by itself" is no
    advice (a text that starts "gave up after N attempts" says so too)."""
    if not last_error:
        return None
    reason = last_error.strip()
    gave_up = _GAVE_UP.match(reason)
    attempts = int(gave_up.group("attempts")) if gave_up else None
    if gave_up:
        reason = reason[gave_up.end() :]
    found = match(reason, kind)
    if found is None:
        return Explanation(str(GENERIC[kind]), str(GENERIC_TODO), "generic", attempts)
    pattern, groups = found
    what = str(pattern.what) % groups if groups else str(pattern.what)
    todo = str(pattern.todo_dead) if pattern.todo_dead is not None and (dead or gave_up) else str(pattern.todo)
    return Explanation(what, todo, pattern.name, attempts)
