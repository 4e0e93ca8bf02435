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
