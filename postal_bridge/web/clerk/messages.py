"""The clerk services' messages that carry figures (times, counts, statuses, reasons), in the page's language.

Fixed sentences are looked up whole (``words.SERVICE_MESSAGES``); these are matched by pattern, and the Vietnamese
words inside them (a status, a mode, a reason) are translated through the same vocabulary as the rest of the pages.
``auth.translate_error`` tries them after the fixed sentences; a message that matches nothing is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

from postal_bridge.domain.outcomes import FAILURE_REASONS, RECEIVER_LABELS_VI, RETURN_REASON_LABELS_VI
from postal_bridge.domain.scans import MODE_LABELS_VI
from postal_bridge.domain.status import STATUS_LABELS_VI
from postal_bridge.web.clerk.words import FAILURE_NEXT, FAILURES, MODES, RECEIVERS, RETURNS
from postal_bridge.web.labels import status_label

_STATUS = {label: status for status, label in STATUS_LABELS_VI.items()}
_MODE = {label: mode for mode, label in MODE_LABELS_VI.items()}
_FAILURE = {info.label.lower(): reason for reason, info in FAILURE_REASONS.items()}
_THEN = {info.then: reason for reason, info in FAILURE_REASONS.items()}
_RETURN = {label.lower(): reason for reason, label in RETURN_REASON_LABELS_VI.items()}
_RECEIVER = {label.lower(): who for who, label in RECEIVER_LABELS_VI.items()}


def _status(vi: str) -> str:
    status = _STATUS.get(vi)
    return status_label(status.value) if status is not None else vi


def _mode(vi: str) -> str:
    mode = _MODE.get(vi)
    return str(MODES[mode]) if mode in MODES else vi


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _failure(vi: str) -> str:
    reason = _FAILURE.get(vi.lower())
    return str(FAILURES[reason]) if reason is not None else vi


def _then(vi: str) -> str:
    if vi == "Kết quả chuyển hoàn về cơ quan.":
        return _("Kết quả chuyển hoàn về cơ quan.")
    reason = _THEN.get(vi)
    return str(FAILURE_NEXT[reason]) if reason is not None else vi


def _return(vi: str) -> str:
    reason = _RETURN.get(vi.lower())
    return _lower_first(str(RETURNS[reason])) if reason is not None else vi


def _receiver(vi: str) -> str:
    who = _RECEIVER.get(vi.lower())
    return _lower_first(str(RECEIVERS[who])) if who is not None else vi


Render = Callable[[re.Match[str], Callable[[str], str]], str]
_TIME = r"(?P<time>\d{2}:\d{2}(?: \d{2}/\d{2})?)"
PATTERNS: list[tuple[re.Pattern[str], Render]] = [
    (
        re.compile(rf"Mã này đã được quét trong phiên bàn giao này lúc {_TIME} hôm nay\."),
        lambda m, t: _("Mã này đã được quét trong phiên bàn giao này lúc %(time)s hôm nay.", time=m["time"]),
    ),
    (
        re.compile(rf"Mã này đã được quét ở chế độ '(?P<mode>[^']+)' lúc {_TIME} hôm nay\."),
        lambda m, t: _(
            "Mã này đã được quét ở chế độ “%(mode)s” lúc %(time)s hôm nay.", mode=_mode(m["mode"]), time=m["time"]
        ),
    ),
    (
        re.compile(
            r"Lần quét lúc (?P<at>\d{2}:\d{2} \d{2}/\d{2}) cũ hơn thay đổi gần nhất của bưu gửi "
            r"\((?P<last>\d{2}:\d{2} \d{2}/\d{2})\); đã lưu, không áp dụng\."
        ),
        lambda m, t: _(
            "Lần quét lúc %(at)s cũ hơn thay đổi gần nhất của bưu gửi (%(last)s); đã lưu, không áp dụng.",
            at=m["at"],
            last=m["last"],
        ),
    ),
    (
        re.compile(r"Ngoài danh sách: (?P<reason>.+) Không đưa vào biên bản\."),
        lambda m, t: _("Ngoài danh sách: %(reason)s Không đưa vào biên bản.", reason=t(m["reason"])),
    ),
    (
        re.compile(r"(?P<reason>.+) Không đưa vào biên bản\."),
        lambda m, t: _("%(reason)s Không đưa vào biên bản.", reason=t(m["reason"])),
    ),
    (
        re.compile(r"Tối đa (?P<n>\d+) lần quét mỗi lần gửi\."),
        lambda m, t: _("Tối đa %(n)s lần quét mỗi lần gửi.", n=m["n"]),
    ),
    (re.compile(r"Tối đa (?P<n>\d+) ký tự\."), lambda m, t: _("Tối đa %(n)s ký tự.", n=m["n"])),
    (
        re.compile(
            r"Bưu gửi đang ở trạng thái '(?P<s>[^']+)'; chỉ ghi phát thành công khi đang đi phát, "
            r"sau lần phát không thành công hoặc khi công dân đến nhận tại bưu cục\."
        ),
        lambda m, t: _(
            "Bưu gửi đang ở trạng thái “%(status)s”; chỉ ghi phát thành công khi đang đi phát, sau lần phát không "
            "thành công hoặc khi công dân đến nhận tại bưu cục.",
            status=_status(m["s"]),
        ),
    ),
    (
        re.compile(
            r"Bưu gửi đang ở trạng thái '(?P<s>[^']+)'; không ghi được lần phát / nhận không thành công "
            r"\(quét 'Đi phát' trước\)\."
        ),
        lambda m, t: _(
            "Bưu gửi đang ở trạng thái “%(status)s”; không ghi được lần phát / nhận không thành công (quét “Đi "
            "phát” trước).",
            status=_status(m["s"]),
        ),
    ),
    (
        re.compile(r"Bưu gửi đang ở trạng thái '(?P<s>[^']+)'; chỉ chuyển hoàn kết quả bưu điện đang giữ\."),
        lambda m, t: _(
            "Bưu gửi đang ở trạng thái “%(status)s”; chỉ chuyển hoàn kết quả bưu điện đang giữ.",
            status=_status(m["s"]),
        ),
    ),
    (
        re.compile(r"Đã ghi nhận phát thành công \((?P<who>[^)]+)\)\."),
        lambda m, t: _("Đã ghi nhận phát thành công (%(who)s).", who=_receiver(m["who"])),
    ),
    (
        re.compile(r"Đã ghi nhận lần (?P<n>\d+) không thành công: (?P<label>.+?)\. (?P<then>.+)"),
        lambda m, t: _(
            "Đã ghi nhận lần %(n)s không thành công: %(reason)s. %(then)s",
            n=m["n"],
            reason=_failure(m["label"]),
            then=_then(m["then"]),
        ),
    ),
    (
        re.compile(
            r"Đã ghi nhận chuyển hoàn về cơ quan \((?P<reason>[^)]*)\); bàn giao lại cho cơ quan bằng phiên bàn giao\."
        ),
        lambda m, t: _(
            "Đã ghi nhận chuyển hoàn về cơ quan (%(reason)s); bàn giao lại cho cơ quan bằng phiên bàn giao.",
            reason=_return(m["reason"]),
        ),
    ),
]
