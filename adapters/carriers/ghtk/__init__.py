"""GHTK (Giao Hàng Tiết Kiệm) courier adapter, split the karrio way (reference/carriers.md §1.1, §2.4):

- ``settings`` — the agency settings read (``token``, ``client_source``, ``base_url``, ``webhook_secret``,
  ``webhook_auth``, ``transport_*``, ``pick_option``, ``weight_option``, ``is_freeship``, ``send_district``,
  ``label_*``); documented there;
- ``units`` — ``STATUS_MAP`` (raw ``status_id`` → unified status, reason, provisional, cod_status, UPU event);
- ``mapper`` — pure ``build_*`` / ``parse_*`` functions and the error mapping;
- ``addresses`` — canonical 2025 ward → the names GHTK takes;
- ``carrier`` — ``GHTKCarrier``, the thin HTTP client.
"""

from adapters.carriers.ghtk.carrier import GHTKCarrier
from adapters.carriers.ghtk.units import STATUS_MAP

__all__ = ["STATUS_MAP", "GHTKCarrier"]
