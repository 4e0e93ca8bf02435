"""Which agency settings the Viettel Post adapter reads (all values are strings in ``carrier_settings``).

| key | required | default | meaning |
|---|---|---|---|
| ``username`` / ``password`` | yes | – | partner account for ``POST /v2/user/Login`` |
| ``base_url`` | no | ``https://partner.viettelpost.vn`` | API host (dev: ``https://partnerdev.viettelpost.vn``) |
| ``print_base_url`` | no | ``https://digitalize.viettelpost.vn`` | print host for ``/DigitalizePrint/report.do`` |
| ``print_layout`` | no | ``1`` | ``type=`` of the print page (A5/A6 … layouts) |
| ``groupaddress_id`` / ``cus_id`` | no | ``0`` | sender warehouse (``/v2/user/listInventory``) |
| ``webhook_secret`` | for pushes | – | the secret VTP sends in the ``TOKEN`` body field and/or ``Authorization`` |
| ``service_standard`` / ``service_express`` | no | ``VTK`` / ``VCN`` | VTP ``ORDER_SERVICE`` for our services |
| ``product_type`` | no | ``TH`` | ``TH`` letter/document (dossiers), ``HH`` goods |
| ``track_path`` | no | ``/v2/order/tracking`` | polling endpoint — not in the verified reference [?] |
| ``token_ttl_seconds`` | no | ``3600`` | how long a login token is reused when VTP gives no ``expired`` |
| ``label_ttl_seconds`` | no | ``3600`` | ``EXPIRY_TIME`` of a print code |
| ``services`` | no | ``standard,express`` | which of our services this account may book |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .units import DEFAULT_SERVICES

DEFAULT_BASE_URL = "https://partner.viettelpost.vn"
DEFAULT_PRINT_BASE_URL = "https://digitalize.viettelpost.vn"
DEFAULT_TRACK_PATH = "/v2/order/tracking"


@dataclass(frozen=True)
class VTPSettings:
    base_url: str
    print_base_url: str
    print_layout: str
    groupaddress_id: int
    cus_id: int
    service_map: dict[str, str]
    product_type: str
    track_path: str
    token_ttl_seconds: int
    label_ttl_seconds: int

    @classmethod
    def from_mapping(cls, s: Mapping[str, Any]) -> VTPSettings:
        def num(key: str, default: int) -> int:
            try:
                return int(str(s.get(key) or default))
            except ValueError:
                from adapters.carriers.base import SettingError

                raise SettingError(f"viettelpost: setting {key!r} must be a whole number") from None

        return cls(
            base_url=str(s.get("base_url") or DEFAULT_BASE_URL).rstrip("/"),
            print_base_url=str(s.get("print_base_url") or DEFAULT_PRINT_BASE_URL).rstrip("/"),
            print_layout=str(s.get("print_layout") or "1"),
            groupaddress_id=num("groupaddress_id", 0),
            cus_id=num("cus_id", 0),
            service_map={ours: str(s.get(f"service_{ours}") or vtp).upper() for ours, vtp in DEFAULT_SERVICES.items()},
            product_type=str(s.get("product_type") or "TH").upper(),
            track_path=str(s.get("track_path") or DEFAULT_TRACK_PATH),
            token_ttl_seconds=num("token_ttl_seconds", 3600),
            label_ttl_seconds=num("label_ttl_seconds", 3600),
        )
