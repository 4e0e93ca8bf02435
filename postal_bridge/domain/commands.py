"""Commands: what a caller asks for, already shaped by the API schema but not yet checked against the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class CreateConsignment:
    kind: str
    carrier: str
    service: str
    citizen_name: str
    citizen_phone: str
    address_line: str
    ward_code: str
    province_code: str
    weight_g: int
    contents: str
    dossier_code: str | None = None
    procedure_code: str | None = None
    procedure_name: str | None = None
    appointment_date: date | None = None
    cod_vnd: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    documents: tuple[dict[str, Any], ...] = ()  # {"name", "kind": original|certified_copy|copy, "quantity"}
    address_text: str | None = None  # free text, old three-level or new two-level form, instead of codes
    address_scheme: str = "2025"  # "legacy": ward_code/province_code are pre-2025 codes to convert
    # The citizen's ID as the dossier system knows it (the counter fills it from the dossier's snapshot): the type
    # and the last 4 characters only, checked by the clerk who hands the result over.
    citizen_id_type: str | None = None
    citizen_id_last4: str | None = None


@dataclass(frozen=True)
class CreateHandover:
    direction: str  # to_post | to_agency
    consignment_ids: tuple[str, ...]
    place: str = ""
