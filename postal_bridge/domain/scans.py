"""A postal clerk's scans: what a scanned code is, what each scan mode asks of an item, and what a scan answers.

A clerk's scanner (a keyboard-wedge reader, or the phone camera reading the label's Code128 or QR) yields one of:

* an S10 item id (``EB123456785VN``; spaces and case do not matter), whose check digit is verified here;
* another courier's tracking code (GHN, GHTK, Viettel Post…: letters, digits, ``.``, ``-``, ``_``);
* the label QR's content, the tracking URL followed by the code: ``https://…/t/<token>#<code>``. The code after ``#``
  is what counts; a bare tracking URL (no ``#``) identifies the item by its token.

Each scan carries a **mode**, the step the clerk is recording:

* ``collect`` — a pickup collected from the citizen: ``booked`` / ``pickup_failed`` → ``picked_up``;
* ``arrive`` — the item arrived at the post office: → ``in_transit``;
* ``out_for_delivery`` — the item leaves with the clerk: → ``out_for_delivery``;
* ``lookup`` — nothing changes; the answer says what the item is and what can be done with it next;
* ``handover`` — inside a handover session (bàn giao, ``domain/handover_sessions.py``): the item is counted.

Moves follow the per-kind transition table (``domain/status.py``), so a scan can never move an item backwards.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from postal_bridge.domain import s10
from postal_bridge.domain.address import mask_name
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.status import STATUS_LABELS_VI, Kind, Status, allowed
from postal_bridge.domain.text import nfc

MAX_BATCH = 500
MAX_CLOCK_AHEAD = timedelta(minutes=5)  # a device clock further ahead than this is wrong, not early


class ScanMode(StrEnum):
    COLLECT = "collect"
    ARRIVE = "arrive"
    OUT_FOR_DELIVERY = "out_for_delivery"
    LOOKUP = "lookup"
    HANDOVER = "handover"


MODE_LABELS_VI: dict[ScanMode, str] = {
    ScanMode.COLLECT: "Nhận hồ sơ từ công dân",
    ScanMode.ARRIVE: "Đến bưu cục",
    ScanMode.OUT_FOR_DELIVERY: "Đi phát",
    ScanMode.LOOKUP: "Tra cứu",
    ScanMode.HANDOVER: "Bàn giao",
}


class ScanOutcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # this item was already scanned in this session, or in this mode today
    UNKNOWN = "unknown"  # no such item for this post office (another office's items are answered the same way)
    INVALID_CODE = "invalid_code"  # wrong S10 check digit, or not a code at all
    NOT_ALLOWED = "not_allowed"  # the step is not possible for this item now; the message says why
    ALREADY_APPLIED = "already_applied"  # the item is already at or past this step
    FUTURE_TIME = "future_time"  # the device's clock is more than 5 minutes ahead of ours
    INVALID = "invalid"  # the scan itself is malformed (event id, time, mode or session missing)


# --------------------------------------------------------------------------------------------------- the input


@dataclass(frozen=True)
class ScanInput:
    """One scan as the clerk's device sends it, possibly long after it was made (the offline queue)."""

    client_event_id: str  # a UUID made by the device: the same event uploaded twice is applied once
    code: str
    scanned_at: datetime  # the device's original time of the scan, timezone-aware
    mode: ScanMode | str
    session_id: str | None = None  # required for mode=handover


def canonical_event_id(value: object) -> str | None:
    """The UUID in canonical lower-case form, or None when ``value`` is not a UUID."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def scan_problem(scan: ScanInput, *, now: datetime) -> tuple[ScanOutcome, str] | None:
    """Why a scan cannot be considered at all (besides its code), or None when its shape is fine."""
    if not isinstance(scan.scanned_at, datetime) or scan.scanned_at.utcoffset() is None:
        return ScanOutcome.INVALID, "Thiếu giờ quét có múi giờ (scanned_at)."
    try:
        mode = ScanMode(scan.mode)
    except ValueError:
        return ScanOutcome.INVALID, f"Chế độ quét không hợp lệ: {str(scan.mode)[:40]!r}."
    if scan.session_id is not None and (not isinstance(scan.session_id, str) or len(scan.session_id) > 40):
        return ScanOutcome.INVALID, "Mã phiên bàn giao (session_id) không hợp lệ."
    if mode == ScanMode.HANDOVER and not scan.session_id:
        return ScanOutcome.INVALID, "Quét bàn giao cần mã phiên bàn giao (session_id)."
    if scan.scanned_at - now > MAX_CLOCK_AHEAD:
        return (
            ScanOutcome.FUTURE_TIME,
            "Giờ quét trên thiết bị đi trước giờ hệ thống hơn 5 phút; hãy chỉnh đồng hồ thiết bị rồi quét lại.",
        )
    return None


# ---------------------------------------------------------------------------------------------------- the code

_S10_SHAPE = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_TRACKING = re.compile(r"[A-Z0-9][A-Z0-9._\-]{5,63}")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,32}")
MAX_CODE_LENGTH = 500


class CodeError(ValueError):
    """The scanned text is not a code we can look up; the message is for the clerk (Vietnamese)."""


@dataclass(frozen=True)
class ParsedCode:
    kind: str  # s10 | tracking | token
    value: str  # S10 and tracking codes upper-case without spaces; a token as issued
    raw: str = ""  # the code without spaces, in its original case (couriers' codes are matched either way)

    @property
    def forms(self) -> tuple[str, ...]:
        """The spellings to look the code up by."""
        return tuple(dict.fromkeys(f for f in (self.value, self.raw) if f))


def parse_code(text: str) -> ParsedCode:
    """Read a scanned text: S10 (check digit verified), another courier's code, or the label QR's URL content."""
    if not isinstance(text, str):
        raise CodeError("Không đọc được mã.")
    raw = nfc("".join(ch if ch.isprintable() else " " for ch in text))  # wedge scanners may add Tab / CR
    if not raw:
        raise CodeError("Mã trống.")
    if len(raw) > MAX_CODE_LENGTH:
        raise CodeError("Mã quá dài, không phải mã bưu gửi.")
    head, _, fragment = raw.partition("#")
    if "/t/" in head:
        if fragment.strip():
            return _bare_code(fragment)
        token = head.split("/t/", 1)[1].split("?", 1)[0].strip().rstrip("/")
        if not _TOKEN.fullmatch(token):
            raise CodeError("Đường dẫn tra cứu không hợp lệ.")
        return ParsedCode("token", token, token)
    if "://" in raw or raw.startswith("www."):
        raise CodeError("Đường dẫn này không phải mã bưu gửi.")
    return _bare_code(raw)


def _bare_code(text: str) -> ParsedCode:
    raw = "".join(text.split())
    value = raw.upper()
    if not value.isascii():
        raise CodeError("Mã chỉ gồm chữ cái không dấu và chữ số.")
    if _S10_SHAPE.fullmatch(value):
        if not s10.is_valid(value):
            raise CodeError(f"Sai số kiểm tra của mã S10 {value}; hãy quét hoặc nhập lại.")
        return ParsedCode("s10", value, raw)
    if _TRACKING.fullmatch(value) and any(ch.isdigit() for ch in value):
        return ParsedCode("tracking", value, raw)
    raise CodeError("Không phải mã bưu gửi.")


# ------------------------------------------------------------------------------------------- mode → transition

MODE_TARGET: dict[ScanMode, Status] = {
    ScanMode.COLLECT: Status.PICKED_UP,
    ScanMode.ARRIVE: Status.IN_TRANSIT,
    ScanMode.OUT_FOR_DELIVERY: Status.OUT_FOR_DELIVERY,
}
# How far along its journey an item is, per kind: a scan for a step at or below the item's rank is already done.
_RANK: dict[Status, int] = {
    Status.AWAITING_RESULT: 0,
    Status.REQUESTED: 0,
    Status.BOOKING_FAILED: 0,
    Status.BOOKED: 1,
    Status.PICKUP_FAILED: 1,
    Status.PICKED_UP: 2,
    Status.IN_TRANSIT: 3,
    Status.OUT_FOR_DELIVERY: 4,
    Status.DELIVERY_FAILED: 4,
    Status.AVAILABLE_FOR_PICKUP: 4,
}
BEFORE_CUSTODY: frozenset[Status] = frozenset(
    {Status.AWAITING_RESULT, Status.REQUESTED, Status.BOOKING_FAILED, Status.BOOKED, Status.PICKUP_FAILED}
)
CLOSED_REASONS_VI: dict[Status, str] = {
    Status.DELIVERED: "Bưu gửi đã phát thành công; không thể quét tiếp.",
    Status.RETURNED_TO_AGENCY: "Bưu gửi đã chuyển hoàn về cơ quan; không thể quét tiếp.",
    Status.CANCELLED: "Bưu gửi đã bị hủy.",
    Status.LOST_OR_DAMAGED: "Bưu gửi đã được ghi nhận thất lạc / hư hỏng.",
    Status.RETURNING_TO_AGENCY: "Bưu gửi đang chuyển hoàn về cơ quan; hãy bàn giao lại cho cơ quan.",
}
KIND_LABELS_VI: dict[Kind, str] = {
    Kind.PICKUP: "Nhận hồ sơ tại nhà",
    Kind.RETURN: "Trả kết quả tại nhà",
    Kind.TRANSFER: "Chuyển hồ sơ liên thông",
}


@dataclass(frozen=True)
class Decision:
    outcome: ScanOutcome
    target: Status | None = None
    reason: str = ""


def decide(mode: ScanMode, kind: Kind, status: Status) -> Decision:
    """What a scan in ``mode`` does to an item of ``kind`` in ``status`` (handover scans: see handover_sessions)."""
    if mode in (ScanMode.LOOKUP, ScanMode.HANDOVER):
        return Decision(ScanOutcome.ACCEPTED)
    target = MODE_TARGET[mode]
    if status in CLOSED_REASONS_VI:
        return Decision(ScanOutcome.NOT_ALLOWED, reason=CLOSED_REASONS_VI[status])
    if mode == ScanMode.COLLECT and kind != Kind.PICKUP:
        return Decision(
            ScanOutcome.NOT_ALLOWED,
            reason="Kết quả và hồ sơ liên thông được nhận tại cơ quan bằng phiên bàn giao, không quét 'Nhận hồ sơ'.",
        )
    if status in (Status.AWAITING_RESULT, Status.REQUESTED, Status.BOOKING_FAILED):
        return Decision(ScanOutcome.NOT_ALLOWED, reason="Bưu gửi chưa được tạo với bưu chính (chưa có mã).")
    if mode != ScanMode.COLLECT and status in BEFORE_CUSTODY:
        hint = "quét 'Nhận hồ sơ' trước" if kind == Kind.PICKUP else "nhận tại cơ quan bằng phiên bàn giao trước"
        return Decision(ScanOutcome.NOT_ALLOWED, reason=f"Bưu điện chưa nhận bưu gửi này; {hint}.")
    if allowed(kind, status, target):
        return Decision(ScanOutcome.ACCEPTED, target)
    if _RANK.get(status, 99) >= _RANK[target]:
        return Decision(
            ScanOutcome.ALREADY_APPLIED,
            reason=f"Bưu gửi đã ở trạng thái '{STATUS_LABELS_VI[status]}'; không cần quét lại.",
        )
    return Decision(
        ScanOutcome.NOT_ALLOWED,
        reason=f"Không thể chuyển từ '{STATUS_LABELS_VI[status]}' sang '{STATUS_LABELS_VI[target]}'.",
    )


ACCEPTED_MESSAGES_VI: dict[ScanMode, str] = {
    ScanMode.COLLECT: "Đã nhận hồ sơ từ công dân.",
    ScanMode.ARRIVE: "Đã ghi nhận bưu gửi đến bưu cục.",
    ScanMode.OUT_FOR_DELIVERY: "Đã ghi nhận đi phát.",
}

# ----------------------------------------------------------------------------------------------- next actions


class Action(StrEnum):
    """What a clerk can do next with an item (the lookup answer and the worklist)."""

    COLLECT = "collect"
    ARRIVE = "arrive"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURN_TO_AGENCY = "return_to_agency"
    HANDOVER_TO_POST = "handover_to_post"
    HANDOVER_TO_AGENCY = "handover_to_agency"


ACTION_LABELS_VI: dict[Action, str] = {
    Action.COLLECT: "Nhận hồ sơ",
    Action.ARRIVE: "Đến bưu cục",
    Action.OUT_FOR_DELIVERY: "Đi phát",
    Action.DELIVERED: "Phát thành công",
    Action.FAILED: "Không thành công",
    Action.RETURN_TO_AGENCY: "Chuyển hoàn về cơ quan",
    Action.HANDOVER_TO_POST: "Nhận bàn giao tại cơ quan",
    Action.HANDOVER_TO_AGENCY: "Bàn giao cho cơ quan",
}


# --------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ItemRow:
    """The few facts about an item that a lookup, a handover scan or an answer needs (no full aggregate load)."""

    id: str
    agency_id: str
    kind: Kind
    status: Status
    tracking_code: str | None
    dossier_code: str | None
    ward_code: str
    citizen_name: str
    purged: bool
    updated_at: datetime  # the item's last change

    @classmethod
    def of(cls, c: Consignment) -> ItemRow:
        return cls(
            id=c.id,
            agency_id=c.agency_id,
            kind=c.kind,
            status=c.status,
            tracking_code=c.tracking_code,
            dossier_code=c.dossier.code,
            ward_code=c.citizen.address.ward_code,
            citizen_name=c.citizen.name,
            purged=c.personal_data_purged_at is not None,
            updated_at=c.events[-1].occurred_at if c.events else c.created_at,
        )

    @property
    def masked_name(self) -> str:
        return "(đã xoá)" if self.purged else mask_name(self.citizen_name)


@dataclass(frozen=True)
class ItemSummary:
    """What the clerk's screen shows about an item: no full name, phone or street line (as on the tracking page)."""

    consignment_id: str
    tracking_code: str | None
    kind: str
    kind_label: str
    status: str
    status_label: str
    dossier_code: str | None
    area: str  # "Phường …, Thành phố …"
    recipient: str  # masked: "Nguyễn T. H."
    agency_code: str
    agency_name: str
    next_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanResult:
    client_event_id: str
    outcome: ScanOutcome
    message: str  # Vietnamese, for the clerk; never personal data
    code: str = ""  # the code as read (normalised)
    item: ItemSummary | None = None
    status_before: str | None = None
    status_after: str | None = None
    status_before_label: str | None = None
    status_after_label: str | None = None


def label(status: str | Status | None) -> str | None:
    return STATUS_LABELS_VI[Status(status)] if status else None


@dataclass(frozen=True)
class StoredScan:
    """A scan as stored: enough to answer the same event again exactly as the first time."""

    client_event_id: str
    user_id: str
    post_office_code: str
    actor: str
    mode: str
    session_id: str | None
    code: str
    consignment_id: str | None
    scanned_at: datetime | None
    scanned_on: date | None
    received_at: datetime
    outcome: ScanOutcome
    message: str
    status_before: str | None = None
    status_after: str | None = None
    applied: bool = False
    id: int | None = None


class ScopeRepository(Protocol):
    """What a post office's clerks may see (``storage/clerks.py``)."""

    def find(self, post_office_code: str, *, codes: list[str], tokens: list[str]) -> dict[str, str]: ...

    def office_name(self, post_office_code: str) -> str | None: ...

    def visible(self, post_office_code: str, consignment_ids: list[str]) -> set[str]: ...

    def rows(self, consignment_ids: list[str]) -> dict[str, ItemRow]: ...

    def ids_in_status(
        self, post_office_code: str, statuses: dict[str, list[str]], *, agency_id: str | None = None, limit: int = 5000
    ) -> list[str]: ...


class ScanRepository(Protocol):
    def by_event_ids(self, user_id: str, event_ids: list[str]) -> dict[str, StoredScan]: ...

    def add_many(self, scans: list[StoredScan]) -> None:
        """Insert; raises ``Conflict`` when one of the events was stored meanwhile (a concurrent upload)."""
        ...

    def seen_today(
        self, post_office_code: str, consignment_ids: list[str], day: date
    ) -> dict[tuple[str, str, str | None], datetime]:
        """(consignment id, mode, session id) → time of the earliest known-item scan that day at this office."""
        ...
