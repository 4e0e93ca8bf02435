"""Words people read for the domain's codes (statuses, kinds, services, sources), translatable.

The domain keeps Vietnamese labels for documents (labels, slips, reports); the pages use these so that ``?lang=en``
shows English. Every area uses the same words for the same status.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from postal_bridge.domain.consignment import Source
from postal_bridge.domain.status import Kind, Status

STATUS = {
    Status.AWAITING_RESULT: _l("Chờ có kết quả"),
    Status.REQUESTED: _l("Đã đăng ký gửi"),
    Status.BOOKING_FAILED: _l("Chưa đặt được bưu gửi"),
    Status.BOOKED: _l("Đã tạo bưu gửi"),
    Status.PICKUP_FAILED: _l("Nhận hồ sơ không thành công"),
    Status.PICKED_UP: _l("Bưu điện đã nhận"),
    Status.IN_TRANSIT: _l("Đang vận chuyển"),
    Status.OUT_FOR_DELIVERY: _l("Đang phát"),
    Status.DELIVERY_FAILED: _l("Phát không thành công"),
    Status.AVAILABLE_FOR_PICKUP: _l("Mời nhận tại bưu cục"),
    Status.DELIVERED: _l("Đã phát thành công"),
    Status.RETURNING_TO_AGENCY: _l("Đang chuyển hoàn về cơ quan"),
    Status.RETURNED_TO_AGENCY: _l("Đã chuyển hoàn về cơ quan"),
    Status.CANCELLED: _l("Đã hủy"),
    Status.LOST_OR_DAMAGED: _l("Thất lạc / hư hỏng"),
}
# How a status is drawn (``status-pill--<tone>``): finished well, needs someone, or ordinary progress.
TONE = {
    Status.DELIVERED: "ok",
    Status.RETURNED_TO_AGENCY: "warn",
    Status.DELIVERY_FAILED: "warn",
    Status.PICKUP_FAILED: "warn",
    Status.AVAILABLE_FOR_PICKUP: "warn",
    Status.RETURNING_TO_AGENCY: "warn",
    Status.BOOKING_FAILED: "bad",
    Status.LOST_OR_DAMAGED: "bad",
    Status.CANCELLED: "bad",
}
KIND = {Kind.PICKUP: _l("Nhận hồ sơ tại nhà"), Kind.RETURN: _l("Trả kết quả tại nhà"), Kind.TRANSFER: _l("Liên thông")}
SERVICE = {"standard": _l("Tiêu chuẩn"), "express": _l("Chuyển phát nhanh")}
SOURCE = {
    Source.API: _l("Bộ phận Một cửa"),
    Source.COURIER_WEBHOOK: _l("Bưu chính"),
    Source.COURIER_POLL: _l("Bưu chính"),
    Source.SCAN: _l("Nhân viên bưu chính"),
    Source.SYSTEM: _l("Hệ thống"),
}


def status_label(status: str) -> str:
    return str(STATUS.get(Status(status), status))


def status_tone(status: str) -> str:
    return TONE.get(Status(status), "")


def init_labels(app) -> None:
    app.jinja_env.filters.update(status_label=status_label, status_tone=status_tone)
    app.jinja_env.globals.update(KIND_LABELS=KIND, SERVICE_LABELS=SERVICE, SOURCE_LABELS=SOURCE)
