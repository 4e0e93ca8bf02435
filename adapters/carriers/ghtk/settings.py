"""Which agency settings the GHTK adapter reads (all values are strings, as stored by ``carrier-settings``).

- ``token`` (required): the API token made in the GHTK shop portal, sent as header ``Token``; static, with an expiry
  date set in the portal.
- ``client_source``: partner code sent as ``X-Client-Source`` (partner accounts only).
- ``base_url``: default ``https://services.giaohangtietkiem.vn``; staging ``https://services.ghtklab.com`` [?].
- ``shop_id``: the GHTK shop code (e.g. ``S1234567``); only names the account in caches.
- ``webhook_secret``: the shared secret every push must carry.
- ``webhook_auth``: ``hash`` (GHTK sends the secret in its ``hash`` parameter, body or query) or ``path`` (default:
  the secret is the last segment of the webhook URL, ``/webhooks/carriers/ghtk/<secret>``).
- ``transport_standard`` / ``transport_express``: GHTK ``transport`` per service, default ``road`` / ``fly``.
- ``services``: narrow our services, e.g. ``standard``.
- ``pick_option``: ``cod`` (GHTK picks up, default) or ``post`` (dropped at a post office).
- ``weight_option``: ``kilogram`` (default: product weights in kg) or ``gram``.
- ``is_freeship``: ``1`` (default: the receiver pays only ``pick_money``) or ``0``.
- ``send_district``: ``1`` (default) also sends the legacy (pre-2025) district name where it is unambiguous.
- ``label_page_size`` / ``label_original``: label ``page_size`` (A5/A6, default A6) and ``original``
  (portrait/landscape).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.carriers.ghtk.units import DEFAULT_TRANSPORT

DEFAULT_BASE_URL = "https://services.giaohangtietkiem.vn"


@dataclass(frozen=True)
class GHTKSettings:
    token: str
    base_url: str = DEFAULT_BASE_URL
    client_source: str = ""
    webhook_secret: str = ""
    webhook_auth: str = "path"
    transport: tuple[tuple[str, str], ...] = tuple(DEFAULT_TRANSPORT.items())
    pick_option: str = "cod"
    weight_option: str = "kilogram"
    is_freeship: int = 1
    send_district: bool = True
    label_page_size: str = "A6"
    label_original: str = "portrait"

    def transport_for(self, service: str) -> str | None:
        return dict(self.transport).get(service)

    def service_for(self, transport: str) -> str | None:
        return next((s for s, t in self.transport if t == transport), None)


def load_settings(raw: Mapping[str, Any], token: str) -> GHTKSettings:
    """Read settings leniently (the token is checked by the caller through ``require``)."""

    def get(key: str, default: str) -> str:
        value = raw.get(key)
        return default if value in (None, "") else str(value).strip()

    transport = tuple((s, get(f"transport_{s}", t)) for s, t in DEFAULT_TRANSPORT.items())
    auth = get("webhook_auth", "path").lower()
    weight_option = get("weight_option", "kilogram").lower()
    return GHTKSettings(
        token=token,
        base_url=get("base_url", DEFAULT_BASE_URL),
        client_source=get("client_source", ""),
        webhook_secret=get("webhook_secret", ""),
        webhook_auth="hash" if auth == "hash" else "path",
        transport=transport,
        pick_option=get("pick_option", "cod"),
        weight_option="gram" if weight_option == "gram" else "kilogram",
        is_freeship=1 if get("is_freeship", "1") in ("1", "true", "yes") else 0,
        send_district=get("send_district", "1").lower() in ("1", "true", "yes", "on"),
        label_page_size=get("label_page_size", "A6"),
        label_original=get("label_original", "portrait"),
    )
