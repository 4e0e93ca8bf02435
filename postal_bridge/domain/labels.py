"""What a label shows, as plain data: services build it, ``labels/`` draws it. No layout decisions here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class LabelParty:
    """One address block on the label (sender or recipient)."""

    name: str
    phone: str  # already formatted for display, e.g. "0912 345 678"
    address_lines: tuple[str, ...]  # street line, then "Phường …, Thành phố …" (2025 two-level, no district)


@dataclass(frozen=True)
class LabelContent:
    """Everything printed on one 100×150 mm consignment label."""

    tracking_code: str  # the courier's code, drawn as Code128 and inside the QR
    tracking_url: str  # citizen tracking link, drawn as a QR
    carrier_name: str  # e.g. "Sandbox", "VNPost"
    service_name: str  # e.g. "Tiêu chuẩn"
    kind_label: str  # e.g. "Trả kết quả" / "Nhận hồ sơ"
    sender: LabelParty
    recipient: LabelParty
    dossier_code: str
    weight_g: int
    cod_vnd: int = 0
    postage_vnd: int | None = None
    handling_note: str = ""  # e.g. "Phát tận tay – kiểm tra CCCD"
    printed_on: date | None = None
    extra_lines: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SlipDocument:
    """One line of the document list on a Phiếu gửi: what it is, original or copy, how many."""

    name: str
    kind: str  # "original" (bản chính) | "certified_copy" (bản chứng thực) | "copy" (bản sao)
    quantity: int = 1


@dataclass(frozen=True)
class SlipParty:
    name: str
    address_lines: tuple[str, ...]
    phone: str
    email: str = ""


@dataclass(frozen=True)
class SlipContent:
    """The Phiếu gửi hồ sơ (A5), a written contract under TT 17/2017 Art 9: every field the article requires."""

    slip_number: str  # printed on the Biên bản giao nhận; the courier's item code once booked
    kind: str  # pickup | return | transfer
    kind_label: str  # "Gửi hồ sơ" / "Nhận kết quả" / "Chuyển hồ sơ liên thông"
    sender: SlipParty
    recipient: SlipParty
    procedure_name: str
    dossier_code: str
    documents: tuple[SlipDocument, ...]
    result_included: bool  # returns: "the TTHC result is inside" must be stated (QĐ45 9.2)
    accepted_at: str  # time of service, formatted "HH:MM dd/mm/yyyy"
    place: str  # where the item was accepted
    method: str  # e.g. "Nhận tại địa chỉ của công dân" / "Nhận tại Bộ phận Một cửa"
    carrier_name: str
    service_name: str
    postage_vnd: int | None
    payment_method: str  # e.g. "Người gửi trả tiền mặt"
    quality_promise: str  # e.g. "Toàn trình J+2 ngày làm việc"
    liability: str  # liability and compensation text
    tracking_url: str = ""
    weight_g: int = 0
    cod_vnd: int = 0


@dataclass(frozen=True)
class HandoverLine:
    slip_number: str
    tracking_code: str
    dossier_code: str
    recipient_name: str  # the citizen (the record stays with the two signing parties)
    documents_summary: str  # e.g. "2 bản chính, 1 bản sao"
    complete: bool = True  # "hồ sơ đầy đủ" confirmed when counted together


@dataclass(frozen=True)
class HandoverContent:
    """The Biên bản giao nhận (A4): many consignments changing hands; its signing time is the legal submission time."""

    handover_id: str  # also drawn as Code128
    direction: str  # to_post | to_agency
    title: str  # "BIÊN BẢN GIAO NHẬN HỒ SƠ"
    created_at: str  # "HH:MM dd/mm/yyyy"
    place: str
    agency_name: str
    agency_address: str
    post_name: str  # the courier / post office side
    giver_label: str  # "Bên giao"
    receiver_label: str  # "Bên nhận"
    lines: tuple[HandoverLine, ...]
    # Confirmed by both sides through a clerk's handover session:
    giver_signatory: str = ""  # who signed for the giving side, by name
    receiver_signatory: str = ""  # who signed for the receiving side, by name
    missing: tuple[HandoverLine, ...] = ()  # expected items that were not there ("Thiếu so với danh sách")
    note: str = ""
    confirmed_at: str = ""  # "HH:MM dd/mm/yyyy": when both sides confirmed (the signing time)
