"""Callback URLs of the dossier system: refused when they point inside our network (SSRF), at save and at send."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.ports import HostResolver


def check_callback_url(url: str, *, resolve: HostResolver, allow_private: bool, field: str = "callback_url") -> str:
    """Return the URL if acceptable, else raise ``ValidationFailed`` naming ``field`` with one clear reason."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed({field: ["Callback URL must be an absolute http(s) URL."]})
    if parts.username or parts.password:
        raise ValidationFailed({field: ["Callback URL must not carry credentials."]})
    if allow_private:
        return url
    host = parts.hostname
    try:
        addresses = [host] if _is_ip(host) else resolve(host)
    except OSError:
        raise ValidationFailed({field: [f"Callback host {host!r} does not resolve."]}) from None
    if not addresses:
        raise ValidationFailed({field: [f"Callback host {host!r} does not resolve."]})
    for addr in addresses:
        ip = ipaddress.ip_address(addr.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise ValidationFailed(
                {
                    field: [
                        f"Callback URL resolves to a private, loopback or link-local address ({ip}); "
                        "set POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS=1 only for local testing."
                    ]
                }
            )
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return True
