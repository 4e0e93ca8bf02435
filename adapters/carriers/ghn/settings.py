"""The settings keys the GHN adapter reads (all values are strings, from the agency's ``carrier_settings``).

| key | required | meaning |
|---|---|---|
| ``token`` | yes | GHN account token, sent as the ``Token`` header (static: GHN has no login flow) |
| ``shop_id`` | yes | GHN shop id, sent as the ``ShopId`` header on ``/v2/*`` calls and as ``shop_id`` in bodies |
| ``base_url`` | no | default ``PRODUCTION_URL``; GHN staging is ``STAGING_URL`` (both below) |
| ``print_base_url`` | no | default: ``base_url`` with ``/shiip/public-api`` replaced by ``/a5/public-api`` |
| ``label_size`` | no | ``a5`` (default), ``80x80`` or ``52x70`` |
| ``service_type_standard`` | no | GHN ``service_type_id`` for our ``standard`` service (default ``2``) |
| ``service_type_express`` | no | GHN ``service_type_id`` for ``express``; without it: ``standard`` only |
| ``required_note`` | no | ``KHONGCHOXEMHANG`` (default) / ``CHOXEMHANGKHONGTHU`` / ``CHOTHUHANG`` |
| ``payment_type_id`` | no | ``1`` shop pays (default), ``2`` receiver pays |
| ``parcel_cm`` | no | default parcel size ``LxWxH`` in cm, default ``32x24x3`` (an A4 dossier envelope) |
| ``webhook_auth`` | no | ``basic`` (default) or ``header``: how GHN support was asked to authenticate its callback |
| ``webhook_secret`` | for webhooks | the Basic-auth password, or the value of the custom header |
| ``webhook_user`` | no | the Basic-auth user name (default ``ghn``) |
| ``webhook_header`` | no | the custom header's name (default ``X-GHN-Token``) |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.carriers.base import SettingError
from adapters.carriers.ghn.units import DEFAULT_SERVICE_TYPES, PRINT_PATHS, REQUIRED_NOTES

PRODUCTION_URL = "https://online-gateway.ghn.vn/shiip/public-api"
STAGING_URL = "https://dev-online-gateway.ghn.vn/shiip/public-api"


@dataclass(frozen=True)
class GHNSettings:
    base_url: str
    print_base_url: str
    label_size: str
    service_types: dict[str, int]
    required_note: str
    payment_type_id: int
    parcel_cm: tuple[int, int, int]
    webhook_auth: str
    webhook_user: str
    webhook_header: str

    @classmethod
    def from_mapping(cls, s: Mapping[str, Any]) -> GHNSettings:
        base = str(s.get("base_url") or PRODUCTION_URL).rstrip("/")
        print_base = str(s.get("print_base_url") or "").rstrip("/") or _print_base(base)
        size = str(s.get("label_size") or "a5").lower()
        if size not in PRINT_PATHS:
            raise SettingError(f"ghn: label_size must be one of {sorted(PRINT_PATHS)}")
        types = dict(DEFAULT_SERVICE_TYPES)
        for ours in ("standard", "express"):
            value = s.get(f"service_type_{ours}")
            if value not in (None, ""):
                types[ours] = _int(value, f"service_type_{ours}")
        note = str(s.get("required_note") or "KHONGCHOXEMHANG").upper()
        if note not in REQUIRED_NOTES:
            raise SettingError(f"ghn: required_note must be one of {sorted(REQUIRED_NOTES)}")
        auth = str(s.get("webhook_auth") or "basic").lower()
        if auth not in ("basic", "header"):
            raise SettingError("ghn: webhook_auth must be 'basic' or 'header'")
        dims = str(s.get("parcel_cm") or "32x24x3").lower().split("x")
        if len(dims) != 3:
            raise SettingError("ghn: parcel_cm must look like 32x24x3")
        length, width, height = (_int(d, "parcel_cm") for d in dims)
        return cls(
            base_url=base,
            print_base_url=print_base,
            label_size=size,
            service_types=types,
            required_note=note,
            payment_type_id=_int(s.get("payment_type_id") or 1, "payment_type_id"),
            parcel_cm=(length, width, height),
            webhook_auth=auth,
            webhook_user=str(s.get("webhook_user") or "ghn"),
            webhook_header=str(s.get("webhook_header") or "X-GHN-Token").lower(),
        )


def _print_base(base_url: str) -> str:
    suffix = "/shiip/public-api"
    root = base_url[: -len(suffix)] if base_url.endswith(suffix) else base_url
    return f"{root}/a5/public-api"


def _int(value: Any, key: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise SettingError(f"ghn: setting {key!r} must be a whole number") from None
