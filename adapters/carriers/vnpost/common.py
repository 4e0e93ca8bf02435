"""What VNPost's three surfaces share: settings helpers, time parsing, token handling, master-data matching.

Every surface implementation is a ``CarrierAdapterBase`` subclass with ``code = "vnpost"``; ``VNPostCarrier`` (in
``__init__``) picks one by the agency's ``api`` setting and delegates to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from adapters.carriers.base import (
    AddressNotResolvable,
    CarrierAdapterBase,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierEnv,
    CarrierValidationError,
)
from adapters.carriers.http import CarrierHttp, HttpResult
from postal_bridge.domain.text import fold_place_name

CODE = "vnpost"
NAME = "VNPost"
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TOKEN_TTL_SECONDS = 55 * 60  # one public donhang client caches the token for 60 minutes; refresh a little earlier

# Words VNPost's error messages use for "this reference already exists" (the exact duplicate answer is unknown [?]).
DUPLICATE_MARKERS = ("da ton tai", "already exist", "duplicate", "trung ma", "bi trung")


_VN_TIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?")


def parse_vn_time(value: Any, *, fallback: datetime | None = None) -> datetime | None:
    """VNPost times: ``DD/MM/YYYY HH:mm:ss`` (Asia/Ho_Chi_Minh), ISO 8601, or ASP.NET ``/Date(ms)/``. Aware result."""
    if value in (None, ""):
        return fallback
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value) / (1000 if value > 10**11 else 1), UTC)
    text = str(value).strip()
    m = re.fullmatch(r"/Date\((-?\d+)([+-]\d{4})?\)/", text)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, UTC)
    fast = _VN_TIME.fullmatch(text)  # the common shape, without strptime's cost (a tenth of a 100-event push)
    if fast:
        day, month, year, hour, minute, second = (int(g) if g else 0 for g in fast.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)
        except ValueError:
            pass  # e.g. 31/02: strptime below refuses it the same way
    for fmt in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=VN_TZ)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VN_TZ)


def format_vn_time(at: datetime) -> str:
    return at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S")


def local_phone(e164: str) -> str:
    """``+84912345678`` → ``0912345678`` (Vietnamese couriers want the national form)."""
    digits = re.sub(r"[^\d+]", "", e164 or "")
    if digits.startswith("+84"):
        return "0" + digits[3:]
    if digits.startswith("84") and len(digits) == 11:
        return "0" + digits[2:]
    return digits.lstrip("+")


def full_address(addr: CarrierAddress) -> str:
    """The street line plus the 2025 ward and province, so the postman can read it whatever the legacy ids say."""
    parts = [addr.line, addr.ward_name, addr.province_name]
    return ", ".join(p.strip() for p in parts if p and p.strip())


def message_of(data: Any, fallback: str = "") -> str:
    """The human message in any VNPost error envelope (``ErrorMessage``, ``Message``, ``message``, OAuth errors)."""
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, Mapping):
        for key in ("ErrorMessage", "Message", "message", "error_description", "errorMessage", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
        fault = data.get("fault")
        if isinstance(fault, Mapping):
            return str(fault.get("description") or fault.get("message") or fallback)
    return fallback


def looks_duplicate(message: str) -> bool:
    folded = fold_place_name(message)
    return any(marker in folded for marker in DUPLICATE_MARKERS)


def parse_service_codes(raw: str | None, default: str) -> dict[str, str]:
    """``"standard=BK,express=EMS"`` → ``{"standard": "BK", "express": "EMS"}`` (our code → VNPost's)."""
    out: dict[str, str] = {}
    for part in (raw or default).split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() and value.strip():
            out[key.strip()] = value.strip()
    return out


def match_one(items: Iterable[Mapping[str, Any]], name_key: str, wanted: str) -> list[Mapping[str, Any]]:
    """Items whose ``name_key`` folds to the same key as ``wanted`` (accents, case and type words ignored)."""
    key = fold_place_name(wanted)
    return [i for i in items if fold_place_name(str(i.get(name_key) or "")) == key]


class VNPostSurface(CarrierAdapterBase):
    """The part every surface shares: the ``vnpost`` code, one HTTP client, the token cache, the address cache."""

    code = CODE
    name = NAME
    api: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    default_service_codes: ClassVar[str] = ""

    def __init__(self, settings: Mapping[str, Any] | None = None, env: CarrierEnv | None = None, *, session=None):
        super().__init__(settings, env)
        self.service_codes = parse_service_codes(self.settings.get("service_codes"), self.default_service_codes)
        if not self.settings.get("services"):
            self.services = tuple(s for s in ("standard", "express") if s in self.service_codes) or ("standard",)
        base = str(self.settings.get("base_url") or self.default_base_url)
        self.http = CarrierHttp(self.code, base, self.env, session=session)

    # -- settings -----------------------------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """Cache key part: the surface plus the login (ids differ per surface, so caches must too)."""
        who = (
            self.settings.get("account")
            or self.settings.get("username")
            or self.settings.get("customer_code")
            or self.settings.get("client_id")
            or "default"
        )
        return f"{self.api}:{who}"

    def service_code(self, service: str) -> str:
        code = self.service_codes.get(service)
        if not code:
            raise CarrierValidationError(
                self.code, f"this VNPost account has no service code for {service!r} (setting service_codes)"
            )
        return code

    def our_service(self, vnpost_code: str) -> str | None:
        return next((ours for ours, theirs in self.service_codes.items() if theirs == vnpost_code), None)

    # -- tokens -------------------------------------------------------------------------------------------------

    @property
    def token_key(self) -> str:
        return f"{self.code}:{self.account}:token"

    def token(self, login: Callable[[], tuple[str, int]]) -> str:
        cached = self.env.tokens.get(self.token_key)
        if cached:
            return cached
        token, ttl = login()
        self.env.tokens.set(self.token_key, token, max(60, ttl))
        return token

    def with_token(
        self, call: Callable[[str], HttpResult], login: Callable[[], tuple[str, int]], is_auth_failure
    ) -> HttpResult:
        """Run ``call(token)``; on an expired/invalid-token answer log in again ONCE and retry, then give up."""
        result = call(self.token(login))
        if not is_auth_failure(result):
            return result
        self.env.tokens.delete(self.token_key)
        result = call(self.token(login))
        if is_auth_failure(result):
            self.env.tokens.delete(self.token_key)
            raise CarrierAuthError(self.code, "VNPost refused a fresh token", raw=result.text[:2000])
        return result

    # -- addresses ----------------------------------------------------------------------------------------------

    def cached_address(self, addr: CarrierAddress) -> CarrierAddressCodes | None:
        hit = self.env.addresses.get(self.code, self.account, addr.ward_code)
        return CarrierAddressCodes(**hit) if hit else None

    def remember_address(self, addr: CarrierAddress, codes: CarrierAddressCodes) -> CarrierAddressCodes:
        self.env.addresses.put(self.code, self.account, addr.ward_code, codes.__dict__)
        return codes

    def not_resolvable(self, what: str, addr: CarrierAddress) -> AddressNotResolvable:
        return AddressNotResolvable(
            self.code, f"VNPost ({self.api}) has no {what} matching {addr.ward_name} in {addr.province_name}"
        )
