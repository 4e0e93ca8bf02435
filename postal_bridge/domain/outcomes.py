"""What happens at the door: delivered (with the identity check), failed (with a legal reason), returned to the agency.

* **Delivered** (TT 17/2017 Art 5.2.d): the receiver shows a CCCD (căn cước công dân / thẻ căn cước), an old CMND or
  a passport; an authorised person (người được ủy quyền) also shows the written authorisation (giấy ủy quyền), whose
  reference and the person's name are recorded. Only the ID type and its **last 4 characters** are kept, never the
  full number. When the consignment knows the citizen's own ID (type and last 4), a citizen receiver must match it.
* **Failed** (Luật Bưu chính 2010 Art 17; TT 17/2017 Art 5.2.h; TTLT 18/2015 Art 3): the address is missing,
  incomplete or wrong; the recipient moved; the recipient cannot be found at the address; the recipient is absent
  (invited again: at least twice, 02 working days apart, then the result goes back to the agency); the recipient
  refused (the refuser's name, ID type and last digits are recorded, as TTLT 18/2015 asks, and the result goes back
  to the agency). For a pickup: the documents are incomplete (the clerk guides the citizen and comes again — QĐ 45
  Art 6.3, not a rejection) or the citizen is absent.
* **Returned to the agency** (chuyển hoàn): the result starts back (``returning_to_agency``); the ``to_agency``
  handover then makes it ``returned_to_agency``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.status import Kind, Status


class Receiver(StrEnum):
    CITIZEN = "citizen"  # the citizen in person (chính chủ)
    AUTHORISED = "authorised"  # a person the citizen authorised in writing (người được ủy quyền)


RECEIVER_LABELS_VI: dict[Receiver, str] = {
    Receiver.CITIZEN: "Chính chủ",
    Receiver.AUTHORISED: "Người được ủy quyền",
}


class IdType(StrEnum):
    CCCD = "cccd"  # căn cước công dân / thẻ căn cước: 12 digits
    CMND = "cmnd"  # chứng minh nhân dân: 9 or 12 digits (still seen, replaced by the CCCD)
    PASSPORT = "passport"  # hộ chiếu: a letter and 7 digits


ID_TYPE_LABELS_VI: dict[IdType, str] = {
    IdType.CCCD: "Căn cước / CCCD",
    IdType.CMND: "CMND",
    IdType.PASSPORT: "Hộ chiếu",
}
ID_LAST = 4
_LAST_DIGITS = re.compile(r"[0-9]{4}")
_LAST_PASSPORT = re.compile(r"[0-9A-Z]{4}")


class IdCheck(StrEnum):
    MATCHED = "matched"  # the last digits equal those on file for the citizen
    NOT_ON_FILE = "not_on_file"  # the consignment holds no ID for the citizen
    OTHER_DOCUMENT = "other_document"  # the citizen showed another kind of document than the one on file
    NOT_APPLICABLE = "not_applicable"  # an authorised receiver: their own ID, checked against the authorisation


def id_last_digits(id_type: str, value: object) -> str:
    """The last 4 characters of an ID as entered (spaces ignored); ``ValueError`` (Vietnamese) otherwise.

    A full number is refused rather than cut: it must never reach storage, logs or the audit trail.
    """
    if not isinstance(value, str):
        raise ValueError("Nhập 4 số cuối của giấy tờ tùy thân.")
    text = "".join(value.split()).upper()
    if len(text) != ID_LAST:
        raise ValueError("Chỉ nhập đúng 4 số cuối của giấy tờ tùy thân, không nhập cả số.")
    pattern = _LAST_PASSPORT if id_type == IdType.PASSPORT else _LAST_DIGITS
    if not pattern.fullmatch(text):
        raise ValueError("4 số cuối chỉ gồm chữ số.")
    return text


def check_citizen_id(
    on_file_type: str | None, on_file_last4: str | None, shown_type: IdType, shown_last4: str
) -> IdCheck:
    """Compare what a citizen receiver shows with what the consignment knows; ``ValueError`` on a mismatch."""
    if not on_file_type or not on_file_last4:
        return IdCheck.NOT_ON_FILE
    if on_file_type != shown_type.value:
        return IdCheck.OTHER_DOCUMENT
    if on_file_last4.upper() != shown_last4:
        raise ValueError(
            "4 số cuối không khớp với giấy tờ của công dân trong hồ sơ; kiểm tra lại giấy tờ, "
            "hoặc ghi nhận người nhận là người được ủy quyền (có giấy ủy quyền)."
        )
    return IdCheck.MATCHED


def set_citizen_id(c: Consignment, id_type: str, last4: str) -> None:
    """Record the citizen's ID type and last 4 characters on the consignment (the counter fills them in from the
    dossier system's data); ``ValueError`` naming what is wrong."""
    try:
        kind = IdType(id_type)
    except ValueError:
        raise ValueError(f"Loại giấy tờ phải là một trong: {', '.join(t.value for t in IdType)}.") from None
    c.citizen_id_type, c.citizen_id_last4 = kind.value, id_last_digits(kind, last4)
    c.version += 1


# ----------------------------------------------------------------------------------------------- failures


class FailureReason(StrEnum):
    ADDRESS_INCOMPLETE = "address_incomplete"
    ADDRESS_WRONG = "address_wrong"
    RECIPIENT_MOVED = "recipient_moved"
    RECIPIENT_NOT_FOUND = "recipient_not_found"
    RECIPIENT_ABSENT = "recipient_absent"
    RECIPIENT_REFUSED = "recipient_refused"
    DOCUMENTS_INCOMPLETE = "documents_incomplete"
    CITIZEN_ABSENT = "citizen_absent"


@dataclass(frozen=True)
class ReasonInfo:
    code: str
    label: str  # the button's words (Vietnamese)
    applies_to: frozenset[Kind]
    basis: str  # the legal text it comes from
    then: str  # what happens next, for the clerk


_RETURNS = frozenset({Kind.RETURN})
_PICKUPS = frozenset({Kind.PICKUP})
_BOTH = frozenset({Kind.RETURN, Kind.PICKUP})
_ART17 = "Luật Bưu chính 2010 Điều 17"

FAILURE_REASONS: dict[FailureReason, ReasonInfo] = {
    FailureReason.ADDRESS_INCOMPLETE: ReasonInfo(
        "address_incomplete",
        "Không có địa chỉ / địa chỉ không đầy đủ",
        _BOTH,
        _ART17,
        "Liên hệ công dân hoặc cơ quan để bổ sung địa chỉ.",
    ),
    FailureReason.ADDRESS_WRONG: ReasonInfo(
        "address_wrong", "Sai địa chỉ", _BOTH, _ART17, "Liên hệ công dân hoặc cơ quan để sửa địa chỉ."
    ),
    FailureReason.RECIPIENT_MOVED: ReasonInfo(
        "recipient_moved",
        "Người nhận đã chuyển đi, không có địa chỉ mới",
        _RETURNS,
        _ART17,
        "Chuyển hoàn kết quả về cơ quan nếu không liên hệ được.",
    ),
    FailureReason.RECIPIENT_NOT_FOUND: ReasonInfo(
        "recipient_not_found",
        "Không tìm thấy người nhận tại địa chỉ",
        _RETURNS,
        _ART17,
        "Mời nhận lại; chuyển hoàn nếu vẫn không tìm thấy.",
    ),
    FailureReason.RECIPIENT_ABSENT: ReasonInfo(
        "recipient_absent",
        "Người nhận vắng mặt (mời nhận lại)",
        _RETURNS,
        "Thông tư 17/2017/TT-BTTTT Điều 5.2.h",
        "Mời nhận ít nhất 2 lần, cách nhau 02 ngày làm việc; sau đó chuyển hoàn về cơ quan.",
    ),
    FailureReason.RECIPIENT_REFUSED: ReasonInfo(
        "recipient_refused",
        "Người nhận từ chối nhận",
        _RETURNS,
        f"{_ART17}; Thông tư liên tịch 18/2015 Điều 3",
        "Ghi họ tên, giấy tờ của người từ chối; kết quả chuyển hoàn về cơ quan.",
    ),
    FailureReason.DOCUMENTS_INCOMPLETE: ReasonInfo(
        "documents_incomplete",
        "Hồ sơ chưa đầy đủ (đã hướng dẫn bổ sung, hẹn lại)",
        _PICKUPS,
        "Quyết định 45/2016/QĐ-TTg Điều 6.3",
        "Hướng dẫn công dân bổ sung và hẹn lần nhận sau; không phải từ chối hồ sơ.",
    ),
    FailureReason.CITIZEN_ABSENT: ReasonInfo(
        "citizen_absent",
        "Công dân vắng mặt (hẹn lại)",
        _PICKUPS,
        "Quyết định 45/2016/QĐ-TTg Điều 6",
        "Hẹn lần nhận sau.",
    ),
}


def reasons_for(kind: Kind) -> list[ReasonInfo]:
    """The buttons for a failed attempt on an item of ``kind``, in display order."""
    return [info for info in FAILURE_REASONS.values() if kind in info.applies_to]


class ReturnReason(StrEnum):
    INVITATIONS_EXHAUSTED = "invitations_exhausted"
    RECIPIENT_REFUSED = "recipient_refused"
    RECIPIENT_MOVED = "recipient_moved"
    RECIPIENT_NOT_FOUND = "recipient_not_found"
    ADDRESS_INCOMPLETE = "address_incomplete"
    ADDRESS_WRONG = "address_wrong"


RETURN_REASON_LABELS_VI: dict[ReturnReason, str] = {
    ReturnReason.INVITATIONS_EXHAUSTED: "Đã mời nhận 2 lần, người nhận không đến nhận",
    ReturnReason.RECIPIENT_REFUSED: "Người nhận từ chối nhận",
    ReturnReason.RECIPIENT_MOVED: "Người nhận đã chuyển đi, không có địa chỉ mới",
    ReturnReason.RECIPIENT_NOT_FOUND: "Không tìm thấy người nhận tại địa chỉ",
    ReturnReason.ADDRESS_INCOMPLETE: "Không có địa chỉ / địa chỉ không đầy đủ",
    ReturnReason.ADDRESS_WRONG: "Sai địa chỉ",
}

# Where an item must be for each outcome.
DELIVERABLE: frozenset[Status] = frozenset(
    {Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED, Status.AVAILABLE_FOR_PICKUP}
)
# A failed attempt on an item already failed implies the clerk went out again (out_for_delivery / a new visit).
FAILABLE_RETURN: frozenset[Status] = frozenset({Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED})
PICKUP_ATTEMPTABLE: frozenset[Status] = frozenset({Status.BOOKED, Status.PICKUP_FAILED})
RETURNABLE: frozenset[Status] = frozenset(
    {
        Status.PICKED_UP,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.AVAILABLE_FOR_PICKUP,
    }
)
MIN_INVITATIONS = 2


def failed_attempts(c: Consignment) -> int:
    """How many attempts failed so far: delivery attempts for a return, collection visits for a pickup."""
    status = Status.PICKUP_FAILED if c.kind == Kind.PICKUP else Status.DELIVERY_FAILED
    return sum(1 for e in c.events if e.status == status)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED_TO_AGENCY = "returned_to_agency"


@dataclass
class DeliveryProof:
    """One outcome recorded by a clerk: the delivery proof, the failed-attempt record or the start of a return."""

    client_event_id: str
    consignment_id: str
    outcome: Outcome
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    user_id: str
    post_office_code: str
    status_before: str
    status_after: str
    receiver: str | None = None
    receiver_name: str | None = None
    id_type: str | None = None
    id_last4: str | None = None
    id_check: str | None = None
    authorisation_ref: str | None = None
    reason: str | None = None
    note: str = ""
    attempt: int | None = None
    refuser_name: str | None = None
    refuser_id_type: str | None = None
    refuser_id_last4: str | None = None
    id: int | None = None


class DeliveryProofRepository(Protocol):
    def by_event(self, user_id: str, client_event_id: str) -> DeliveryProof | None: ...

    def add(self, proof: DeliveryProof) -> int:
        """Insert; ``Conflict`` when the same event was stored meanwhile (a concurrent retry)."""
        ...

    def for_consignment(self, consignment_id: str) -> list[DeliveryProof]: ...
