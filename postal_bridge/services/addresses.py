"""Address resolution and type-ahead over local reference data (no network): old or new form → 2025 ward.

The resolver is built once per process from ``deps.units_catalog`` and cached on that catalog object, so each
``Deps`` (and each test) has its own.
"""

from __future__ import annotations

import threading

from postal_bridge.domain.addressing import AddressResolver, Resolution, UnitRecord
from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.text import nfc

SCHEMES = ("2025", "legacy")
MAX_TEXT = 500
MAX_LIMIT = 100
_CACHE_ATTR = "_address_resolver"
_build_lock = threading.Lock()


def resolver(deps) -> AddressResolver:
    """The process's resolver (built on first use from the catalog: about half a second, then cached)."""
    catalog = getattr(deps, "units_catalog", None)  # the field is added to Deps with the bootstrap wiring
    if catalog is None:
        raise RuntimeError("Deps.units_catalog is not wired: bootstrap must pass SqlUnitsCatalog(engine).")
    built = getattr(catalog, _CACHE_ATTR, None)
    if built is None:
        with _build_lock:
            built = getattr(catalog, _CACHE_ATTR, None)
            if built is None:
                built = AddressResolver(catalog.wards_2025(), catalog.legacy(), catalog.provinces())
                setattr(catalog, _CACHE_ATTR, built)
    return built


def resolve(
    deps,
    *,
    text: str | None = None,
    ward_code: str | None = None,
    province_code: str | None = None,
    scheme: str = "2025",
    line: str = "",
) -> Resolution:
    """Free text (old three-level or new two-level form) or codes → 2025 ward candidates, best first."""
    errors: dict[str, list[str]] = {}
    if scheme not in SCHEMES:
        errors["scheme"] = ["Scheme is 2025 or legacy."]
    if text is not None and len(text) > MAX_TEXT:
        errors["text"] = [f"At most {MAX_TEXT} characters."]
    if len(line or "") > 200:
        errors["line"] = ["At most 200 characters."]
    has_text = bool(text and text.strip())
    has_codes = bool(ward_code and ward_code.strip())
    if not has_text and not has_codes:
        errors["text"] = ["Give the address as text, or ward_code (with province_code and scheme)."]
    elif has_text and has_codes:
        errors["text"] = ["Give either text or ward_code, not both."]
    if errors:
        raise ValidationFailed(errors)
    r = resolver(deps)
    if has_text:
        return r.resolve_text(nfc(text or ""))
    return r.resolve_codes((ward_code or "").strip(), (province_code or "").strip() or None, scheme, line or "")


def provinces(deps) -> list[tuple[str, str]]:
    """The 34 provinces of 2025 as (code, name), by code."""
    return resolver(deps).provinces()


def wards(deps, province_code: str, q: str | None = None, limit: int = 20) -> list[UnitRecord]:
    """Type-ahead within one 2025 province: prefix, then word-prefix, then contains; diacritics optional."""
    r = resolver(deps)
    if r.province_name(province_code) is None:
        raise NotFound(f"Province {province_code!r} is not in the 2025 list of 34 provinces.")
    if q is not None and len(q) > 100:
        raise ValidationFailed({"q": ["At most 100 characters."]})
    return r.search_wards(province_code, q, max(1, min(limit, MAX_LIMIT)))
