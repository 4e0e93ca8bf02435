"""GHN (Giao Hàng Nhanh) public API v2 adapter (reference/carriers.md §2.3), split the karrio way.

- ``settings``: the settings keys this adapter reads (documented there: ``token``, ``shop_id``, ``base_url``,
  ``label_size``, ``service_type_standard|express``, ``required_note``, ``payment_type_id``, ``parcel_cm``,
  ``webhook_auth`` = basic|header, ``webhook_secret``, ``webhook_user``, ``webhook_header``);
- ``units``: ``STATUS_MAP`` (raw status → unified status, reason, provisional, COD status, UPU event) and services;
- ``mapper``: pure ``build_*`` request mappers and ``parse_*`` response parsers, and GHN answers → typed errors;
- ``client``: ``GHNCarrier``, the thin HTTP client.

Quirks kept: ``Token`` + ``ShopId`` headers; snake_case API but PascalCase webhooks; lookups by our reference through
``detail-by-client-code``; labels through an A5 print token (HTML); the legacy ``to_district_id`` is still required, so
canonical 2025 wards are resolved through master data province → district → ward.
"""

from adapters.carriers.ghn.client import GHNCarrier
from adapters.carriers.ghn.units import STATUS_MAP

__all__ = ["STATUS_MAP", "GHNCarrier"]
