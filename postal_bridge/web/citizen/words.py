"""What the citizen's pages say, in Vietnamese source strings (English in ``citizen.po``).

``STATUS_WORDS`` repeats ``domain.status.STATUS_LABELS_VI`` as literals so the catalogue tool can extract them; a
unit test keeps the two equal.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from postal_bridge.domain.citizen import Action, Closed, CodeCheck, RequestStatus
from postal_bridge.domain.consignment import Source
from postal_bridge.domain.status import Status

S = Status
STATUS_WORDS = {
    S.AWAITING_RESULT: _l("Chờ có kết quả"),
    S.REQUESTED: _l("Đã đăng ký gửi"),
    S.BOOKING_FAILED: _l("Chưa đặt được bưu gửi"),
    S.BOOKED: _l("Đã tạo bưu gửi"),
    S.PICKUP_FAILED: _l("Nhận hồ sơ không thành công"),
    S.PICKED_UP: _l("Bưu điện đã nhận"),
    S.IN_TRANSIT: _l("Đang vận chuyển"),
    S.OUT_FOR_DELIVERY: _l("Đang phát"),
    S.DELIVERY_FAILED: _l("Phát không thành công"),
    S.AVAILABLE_FOR_PICKUP: _l("Mời nhận tại bưu cục"),
    S.DELIVERED: _l("Đã phát thành công"),
    S.RETURNING_TO_AGENCY: _l("Đang chuyển hoàn về cơ quan"),
    S.RETURNED_TO_AGENCY: _l("Đã chuyển hoàn về cơ quan"),
    S.CANCELLED: _l("Đã hủy"),
    S.LOST_OR_DAMAGED: _l("Thất lạc / hư hỏng"),
}

SOURCE_WORDS = {
    Source.API: _l("Bộ phận Một cửa"),
    Source.COURIER_WEBHOOK: _l("Bưu chính"),
    Source.COURIER_POLL: _l("Bưu chính"),
    Source.SCAN: _l("Nhân viên bưu chính"),
    Source.SYSTEM: _l("Hệ thống"),
}

ACTION_WORDS = {
    Action.RESCHEDULE: _l("Đổi ngày phát"),
    Action.HOLD: _l("Giữ tại bưu cục, tôi sẽ tự đến nhận"),
    Action.ADDRESS: _l("Yêu cầu đổi địa chỉ nhận"),
}

REQUEST_STATUS_WORDS = {
    RequestStatus.OPEN: _l("Đang chờ Bộ phận Một cửa xử lý"),
    RequestStatus.HANDLED: _l("Đã xử lý"),
    RequestStatus.SUPERSEDED: _l("Đã thay bằng yêu cầu mới hơn"),
}

CLOSED_WORDS = {
    Closed.NOT_A_RETURN: _l(
        "Trang này chỉ cho phép thay đổi việc phát kết quả đến địa chỉ của bạn. Cần hỗ trợ, hãy gọi đường dây nóng."
    ),
    Closed.OUT_FOR_DELIVERY: _l(
        "Bưu gửi đã được giao cho bưu tá đi phát nên không thể thay đổi trên trang này nữa. "
        "Cần hỗ trợ, hãy gọi đường dây nóng."
    ),
    Closed.FINISHED: _l("Bưu gửi đã kết thúc, không còn gì để thay đổi."),
}

CODE_WORDS = {
    "malformed": _l("Hãy nhập đủ 6 chữ số của mã."),
    CodeCheck.MISSING: _l("Chưa có mã cho việc này. Hãy bấm “Gửi lại mã” để nhận mã."),
    CodeCheck.EXPIRED: _l("Mã đã hết hạn. Hãy bấm “Gửi lại mã” để nhận mã mới."),
    CodeCheck.EXHAUSTED: _l("Bạn đã nhập sai quá 5 lần. Hãy bấm “Gửi lại mã” để nhận mã mới."),
    CodeCheck.USED: _l("Mã này đã được dùng. Hãy bấm “Gửi lại mã” nếu cần làm tiếp."),
}
