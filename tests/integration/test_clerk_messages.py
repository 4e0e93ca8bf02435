"""The clerk services' messages that carry figures reach an English page in English, words inside them included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from postal_bridge.domain.outcomes import FAILURE_REASONS, FailureReason
from postal_bridge.domain.scans import ScanMode
from postal_bridge.services import scans
from postal_bridge.web.auth import translate_error


@pytest.fixture
def english(container):
    from postal_bridge import create_app

    app = create_app(container=container)
    with app.test_request_context("/clerk/scan?lang=en"):
        yield


AT = datetime(2026, 12, 3, 2, 5, tzinfo=UTC)  # 09:05 in Hà Nội


def test_messages_built_with_figures_are_translated(english) -> None:
    from postal_bridge.web.clerk.words import MODES

    mode = str(MODES[ScanMode.ARRIVE])
    assert mode != "Đến bưu cục"  # the English page's name for the mode
    assert translate_error(scans._duplicate_message(ScanMode.ARRIVE, AT)) == (
        f"This code was already scanned in “{mode}” mode at 09:05 today."
    )
    assert translate_error(scans._duplicate_message(ScanMode.HANDOVER, AT)) == (
        "This code was already scanned in this handover session at 09:05 today."
    )
    assert translate_error(f"Tối đa {scans.MAX_BATCH} lần quét mỗi lần gửi.") == (
        f"At most {scans.MAX_BATCH} scans per upload."
    )
    nested = "Ngoài danh sách: Bưu gửi của cơ quan khác; không đưa vào biên bản này. Không đưa vào biên bản."
    translated = translate_error(nested)
    assert translated.startswith("Not on the list: ") and translated.endswith(" Not added to the record.")
    assert "cơ quan" not in translated  # the reason inside was translated too

    absent = FAILURE_REASONS[FailureReason.RECIPIENT_ABSENT]
    message = f"Đã ghi nhận lần 2 không thành công: {absent.label}. {absent.then}"
    translated = translate_error(message)
    assert translated.startswith("Failed attempt 2 recorded: ")
    assert not any(ch in translated for ch in "ắằẳẵặấầẩẫậđếềểễệốồổỗộớờởỡợứừửữự")


def test_a_status_inside_a_message_is_translated(english) -> None:
    from postal_bridge.domain.status import STATUS_LABELS_VI, Status

    message = (
        f"Bưu gửi đang ở trạng thái '{STATUS_LABELS_VI[Status.BOOKED]}'; chỉ chuyển hoàn kết quả bưu điện đang giữ."
    )
    translated = translate_error(message)
    assert translated.startswith("The item is “") and translated.endswith(
        "only a result the post office holds can be returned."
    )
    assert STATUS_LABELS_VI[Status.BOOKED] not in translated


def test_unknown_messages_are_shown_as_they_are(english) -> None:
    assert translate_error("Một thông báo chưa ai biết.") == "Một thông báo chưa ai biết."
