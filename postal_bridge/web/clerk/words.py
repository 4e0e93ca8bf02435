"""The clerk pages' words for the domain's codes (modes, outcomes, reasons, piles, actions), translatable.

The domain keeps Vietnamese labels for documents and service messages; these are the same words wrapped for
Flask-Babel so that ``?lang=en`` shows English. Service messages that are fixed sentences are added to
``auth.ERROR_MESSAGES`` so they are translated too; messages built with figures (times, statuses) are matched by
pattern in ``messages.py``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from postal_bridge.domain.model import HandoverDirection
from postal_bridge.domain.outcomes import (
    FailureReason,
    IdType,
    Receiver,
    ReturnReason,
)
from postal_bridge.domain.scans import ScanMode, ScanOutcome
from postal_bridge.domain.worklist import Pile
from postal_bridge.services import scans

# The modes a clerk picks on the scan page (``handover`` is used inside a handover session only).
MODES = {
    ScanMode.ARRIVE: _l("Đến bưu cục"),
    ScanMode.OUT_FOR_DELIVERY: _l("Đi phát"),
    ScanMode.COLLECT: _l("Nhận hồ sơ từ công dân"),
    ScanMode.LOOKUP: _l("Tra cứu (không thay đổi gì)"),
}
MODE_HINTS = {
    ScanMode.ARRIVE: _l("Bưu gửi về đến bưu cục."),
    ScanMode.OUT_FOR_DELIVERY: _l("Bưu gửi rời bưu cục cùng bạn để phát."),
    ScanMode.COLLECT: _l("Hồ sơ nhận tại nhà công dân."),
    ScanMode.LOOKUP: _l("Xem bưu gửi là gì và việc tiếp theo."),
}

# How each outcome is shown: tone (colour), icon (a shape, not only a colour) and a headline in words.
OUTCOME_TONE = {
    ScanOutcome.ACCEPTED: "ok",
    ScanOutcome.ALREADY_APPLIED: "info",
    ScanOutcome.DUPLICATE: "warn",
    ScanOutcome.UNKNOWN: "bad",
    ScanOutcome.INVALID_CODE: "bad",
    ScanOutcome.NOT_ALLOWED: "bad",
    ScanOutcome.FUTURE_TIME: "bad",
    ScanOutcome.INVALID: "bad",
}
TONE_ICON = {"ok": "✔", "info": "ℹ", "warn": "⚠", "bad": "✖", "wait": "◷"}
OUTCOME_HEADLINES = {
    ScanOutcome.ACCEPTED: _l("Đã ghi nhận"),
    ScanOutcome.ALREADY_APPLIED: _l("Đã ghi nhận trước đó"),
    ScanOutcome.DUPLICATE: _l("Quét trùng"),
    ScanOutcome.UNKNOWN: _l("Không có ở bưu cục này"),
    ScanOutcome.INVALID_CODE: _l("Mã không hợp lệ"),
    ScanOutcome.NOT_ALLOWED: _l("Không thực hiện được"),
    ScanOutcome.FUTURE_TIME: _l("Đồng hồ thiết bị sai"),
    ScanOutcome.INVALID: _l("Lần quét không hợp lệ"),
}

RECEIVERS = {
    Receiver.CITIZEN: _l("Chính chủ (công dân)"),
    Receiver.AUTHORISED: _l("Người được ủy quyền (có giấy ủy quyền)"),
}
ID_TYPES = {IdType.CCCD: _l("Căn cước / CCCD"), IdType.CMND: _l("CMND"), IdType.PASSPORT: _l("Hộ chiếu")}
FAILURES = {
    FailureReason.ADDRESS_INCOMPLETE: _l("Không có địa chỉ / địa chỉ không đầy đủ"),
    FailureReason.ADDRESS_WRONG: _l("Sai địa chỉ"),
    FailureReason.RECIPIENT_MOVED: _l("Người nhận đã chuyển đi, không có địa chỉ mới"),
    FailureReason.RECIPIENT_NOT_FOUND: _l("Không tìm thấy người nhận tại địa chỉ"),
    FailureReason.RECIPIENT_ABSENT: _l("Người nhận vắng mặt (mời nhận lại)"),
    FailureReason.RECIPIENT_REFUSED: _l("Người nhận từ chối nhận"),
    FailureReason.DOCUMENTS_INCOMPLETE: _l("Hồ sơ chưa đầy đủ (đã hướng dẫn bổ sung, hẹn lại)"),
    FailureReason.CITIZEN_ABSENT: _l("Công dân vắng mặt (hẹn lại)"),
}
FAILURE_NEXT = {
    FailureReason.ADDRESS_INCOMPLETE: _l("Liên hệ công dân hoặc cơ quan để bổ sung địa chỉ."),
    FailureReason.ADDRESS_WRONG: _l("Liên hệ công dân hoặc cơ quan để sửa địa chỉ."),
    FailureReason.RECIPIENT_MOVED: _l("Chuyển hoàn kết quả về cơ quan nếu không liên hệ được."),
    FailureReason.RECIPIENT_NOT_FOUND: _l("Mời nhận lại; chuyển hoàn nếu vẫn không tìm thấy."),
    FailureReason.RECIPIENT_ABSENT: _l(
        "Mời nhận ít nhất 2 lần, cách nhau 02 ngày làm việc; sau đó chuyển hoàn về cơ quan."
    ),
    FailureReason.RECIPIENT_REFUSED: _l("Ghi họ tên, giấy tờ của người từ chối; kết quả chuyển hoàn về cơ quan."),
    FailureReason.DOCUMENTS_INCOMPLETE: _l("Hướng dẫn công dân bổ sung và hẹn lần nhận sau; không phải từ chối hồ sơ."),
    FailureReason.CITIZEN_ABSENT: _l("Hẹn lần nhận sau."),
}
RETURNS = {
    ReturnReason.INVITATIONS_EXHAUSTED: _l("Đã mời nhận 2 lần, người nhận không đến nhận"),
    ReturnReason.RECIPIENT_REFUSED: _l("Người nhận từ chối nhận"),
    ReturnReason.RECIPIENT_MOVED: _l("Người nhận đã chuyển đi, không có địa chỉ mới"),
    ReturnReason.RECIPIENT_NOT_FOUND: _l("Không tìm thấy người nhận tại địa chỉ"),
    ReturnReason.ADDRESS_INCOMPLETE: _l("Không có địa chỉ / địa chỉ không đầy đủ"),
    ReturnReason.ADDRESS_WRONG: _l("Sai địa chỉ"),
}
PILES = {
    Pile.COLLECT_AT_AGENCY: _l("Nhận kết quả tại cơ quan"),
    Pile.COLLECT_FROM_CITIZEN: _l("Nhận hồ sơ tại nhà công dân"),
    Pile.ARRIVED: _l("Tại bưu cục, chờ đi phát"),
    Pile.OUT_FOR_DELIVERY: _l("Đang đi phát"),
    Pile.FAILED: _l("Phát không thành công, chờ phát lại / mời nhận"),
    Pile.RETURN_TO_AGENCY: _l("Chuyển hoàn về cơ quan"),
    Pile.HAND_TO_AGENCY: _l("Bàn giao hồ sơ cho cơ quan"),
}
DIRECTIONS = {
    HandoverDirection.TO_POST: _l("Nhận bàn giao từ cơ quan (kết quả, hồ sơ liên thông)"),
    HandoverDirection.TO_AGENCY: _l("Bàn giao cho cơ quan (hồ sơ, kết quả chuyển hoàn)"),
}
DIRECTION_SHORT = {
    HandoverDirection.TO_POST: _l("Nhận từ cơ quan"),
    HandoverDirection.TO_AGENCY: _l("Giao cho cơ quan"),
}
KINDS = {"pickup": _l("Nhận hồ sơ tại nhà"), "return": _l("Trả kết quả tại nhà"), "transfer": _l("Liên thông")}

# Fixed sentences of the clerk services, shown in the page's language (see ``auth.translate_error``).
SERVICE_MESSAGES = {
    scans.UNKNOWN_MESSAGE: _l("Không tìm thấy bưu gửi này ở bưu cục của bạn."),
    "Không tìm thấy phiên bàn giao này.": _l("Không tìm thấy phiên bàn giao này."),
    "Có trong danh sách bàn giao.": _l("Có trong danh sách bàn giao."),
    "Ngoài danh sách, đã thêm vào biên bản.": _l("Ngoài danh sách, đã thêm vào biên bản."),
    "Phiên bàn giao đã kết thúc (đã xác nhận hoặc đã hủy); không quét thêm được.": _l(
        "Phiên bàn giao đã kết thúc (đã xác nhận hoặc đã hủy); không quét thêm được."
    ),
    "Bưu gửi của cơ quan khác; không đưa vào biên bản này.": _l(
        "Bưu gửi của cơ quan khác; không đưa vào biên bản này."
    ),
    "Đã nhận hồ sơ từ công dân.": _l("Đã nhận hồ sơ từ công dân."),
    "Đã ghi nhận bưu gửi đến bưu cục.": _l("Đã ghi nhận bưu gửi đến bưu cục."),
    "Đã ghi nhận đi phát.": _l("Đã ghi nhận đi phát."),
    "Mã trống.": _l("Mã trống."),
    "Không phải mã bưu gửi.": _l("Không phải mã bưu gửi."),
    "Bắt buộc: họ tên đầy đủ của người ký.": _l("Bắt buộc: họ tên đầy đủ của người ký."),
    "Chưa quét bưu gửi nào; hãy quét các bưu gửi bàn giao trước.": _l(
        "Chưa quét bưu gửi nào; hãy quét các bưu gửi bàn giao trước."
    ),
    "Người xác nhận phải là cán bộ của cơ quan trong phiên bàn giao này.": _l(
        "Người xác nhận phải là cán bộ của cơ quan trong phiên bàn giao này."
    ),
    "Phiên bàn giao này đã hủy; hãy mở phiên mới.": _l("Phiên bàn giao này đã hủy; hãy mở phiên mới."),
    "Phiên bàn giao đã xác nhận; biên bản không thể thay đổi.": _l(
        "Phiên bàn giao đã xác nhận; biên bản không thể thay đổi."
    ),
    "Phiên bàn giao chưa được hai bên xác nhận; chưa có biên bản để in.": _l(
        "Phiên bàn giao chưa được hai bên xác nhận; chưa có biên bản để in."
    ),
    "Nhập 4 số cuối của giấy tờ tùy thân.": _l("Nhập 4 số cuối của giấy tờ tùy thân."),
    "Chỉ nhập đúng 4 số cuối của giấy tờ tùy thân, không nhập cả số.": _l(
        "Chỉ nhập đúng 4 số cuối của giấy tờ tùy thân, không nhập cả số."
    ),
    "4 số cuối chỉ gồm chữ số.": _l("4 số cuối chỉ gồm chữ số."),
    "Họ tên người được ủy quyền là bắt buộc.": _l("Họ tên người được ủy quyền là bắt buộc."),
    "Số / ngày của giấy ủy quyền là bắt buộc.": _l("Số / ngày của giấy ủy quyền là bắt buộc."),
    "Họ tên người từ chối nhận là bắt buộc.": _l("Họ tên người từ chối nhận là bắt buộc."),
    "4 số cuối không khớp với giấy tờ của công dân trong hồ sơ; kiểm tra lại giấy tờ, hoặc ghi nhận người nhận là "
    "người được ủy quyền (có giấy ủy quyền).": _l(
        "4 số cuối không khớp với giấy tờ của công dân trong hồ sơ; kiểm tra lại giấy tờ, hoặc ghi nhận người nhận là "
        "người được ủy quyền (có giấy ủy quyền)."
    ),
    "Chưa mời nhận đủ 2 lần, cách nhau 02 ngày làm việc; chưa chuyển hoàn vì lý do này.": _l(
        "Chưa mời nhận đủ 2 lần, cách nhau 02 ngày làm việc; chưa chuyển hoàn vì lý do này."
    ),
    "Thời điểm cũ hơn thay đổi gần nhất của bưu gửi; không ghi nhận lùi thời gian.": _l(
        "Thời điểm cũ hơn thay đổi gần nhất của bưu gửi; không ghi nhận lùi thời gian."
    ),
}
