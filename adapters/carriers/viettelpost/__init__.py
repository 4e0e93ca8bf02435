"""Viettel Post partner API v2 (reference/carriers.md §2.2), split the karrio way.

- ``settings.py`` — the agency settings this adapter reads (table in its docstring): ``username``, ``password``,
  ``base_url``, ``print_base_url``, ``print_layout``, ``groupaddress_id``, ``cus_id``, ``webhook_secret``,
  ``service_standard`` / ``service_express`` (default ``VTK`` / ``VCN``), ``product_type``, ``track_path``,
  ``token_ttl_seconds``, ``label_ttl_seconds``, ``services``.
- ``units.py`` — ``STATUS_MAP`` (raw ``ORDER_STATUS`` → status, reason, provisional, cod_status, upu_event), the
  text rules for text-only events, cancellable codes, service codes.
- ``mapper.py`` — pure ``build_*_request`` / ``parse_*_response`` functions and the error mapping.
- ``client.py`` — ``ViettelPostCarrier``: HTTP via ``CarrierHttp``, login token cached in ``env.tokens`` and refreshed
  once on a 401, address resolution cached in ``env.addresses``.

Not declared: ``LOOKUP_BY_REF`` (VTP has no documented lookup by our ``ORDER_NUMBER``; after an ``OutcomeUnknown``
create, re-sending the same ``ORDER_NUMBER`` is the recovery path: a duplicate answer naming the existing order is
returned as the result) and ``TRACK_FEED`` (no feed API).
"""

from .client import ViettelPostCarrier
from .units import STATUS_MAP

__all__ = ["STATUS_MAP", "ViettelPostCarrier"]
