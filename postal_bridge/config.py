"""Settings from ``POSTAL_BRIDGE_*`` environment variables, validated at start-up.

A bad value raises ``ConfigError`` whose message is one line naming the variable; entry points print it and stop.
Nothing here opens a connection.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "POSTAL_BRIDGE_"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    instance_dir: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str = ""  # default: SQLite (WAL) in instance_dir
    redis_url: str = ""  # default: none; `postal-bridge run` starts an embedded Redis and sets it for its children
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = ""  # default: http://{host}:{port}
    secret_key: str = ""  # default: generated once into instance_dir/secret_key
    env: str = "development"
    allow_private_callbacks: bool = False
    sandbox_step_seconds: float = 10.0
    sandbox_enabled: bool = True  # every agency may use the sandbox courier unless its settings disable it
    poll_interval_seconds: float = 0.0  # default: the sandbox step
    relay_interval_seconds: float = 2.0
    outbox_lease_seconds: int = 120
    web_workers: int = 2
    log_level: str = "INFO"
    log_json: bool = False
    # Reference data (defaults ship in postal_bridge/data; a province overrides them with its own files).
    holidays_file: str = ""
    routes_file: str = ""
    tariff_file: str = ""
    saturday_is_working: bool = False
    # Geocoding: off by default (the ward's point, marked approximate). Never a public service unless configured.
    geocoder: str = ""  # "" | nominatim | photon
    geocoder_domain: str = ""
    geocoder_scheme: str = "https"
    geocoder_user_agent: str = "postal-bridge (one-stop postal bridge)"
    geocoder_min_delay: float = 1.0
    geocoder_timeout: float = 5.0
    # SMS to citizens (services.sms): console (the demo: stdout and the log) | esms | speedsms | off.
    sms_gateway: str = "console"
    sms_base_url: str = ""  # default: the gateway's own (https://rest.esms.vn, https://api.speedsms.vn)
    sms_api_key: str = field(default="", repr=False)  # eSMS ApiKey; SpeedSMS access token
    sms_secret_key: str = field(default="", repr=False)  # eSMS SecretKey
    sms_brandname: str = ""  # the registered brandname (tên định danh), ≤ 11 characters
    sms_sandbox: bool | None = None  # default: on unless ENV=production (eSMS Sandbox=1: checked, not sent)
    sms_callback_secret: str = field(default="", repr=False)  # /webhooks/sms/<gateway>/<secret>; "" = no reports
    sms_max_per_day: int = 5  # messages per phone number per 24 hours (one-time codes aside)
    # Rate limits (Flask-Limiter notation, counted in Redis across web processes; see postal_bridge/ratelimits.py).
    rate_limit_login: str = "30 per minute; 200 per hour"  # sign-in attempts per client address
    rate_limit_api_create: str = "1200 per minute; 40000 per hour"  # POST /api/v1/consignments per API key

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            raw = env.get(name)
            if f.name == "port" and raw is None:
                raw = env.get("PORT")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(name, f.type, raw)
        values.update(overrides)
        return cls(**values).validated()

    def validated(self) -> Settings:
        s = self
        if s.env not in ("development", "test", "production"):
            raise ConfigError(f"{PREFIX}ENV must be development, test or production, not {s.env!r}")
        if not 1 <= s.port <= 65535:
            raise ConfigError(f"{PREFIX}PORT must be between 1 and 65535, not {s.port}")
        if s.sandbox_step_seconds < 0:
            raise ConfigError(f"{PREFIX}SANDBOX_STEP_SECONDS must be zero or more, not {s.sandbox_step_seconds}")
        if s.poll_interval_seconds < 0 or s.relay_interval_seconds <= 0:
            raise ConfigError(f"{PREFIX}POLL_INTERVAL_SECONDS / RELAY_INTERVAL_SECONDS must be positive")
        if s.outbox_lease_seconds < 5:
            raise ConfigError(f"{PREFIX}OUTBOX_LEASE_SECONDS must be at least 5, not {s.outbox_lease_seconds}")
        if s.web_workers < 1:
            raise ConfigError(f"{PREFIX}WEB_WORKERS must be at least 1, not {s.web_workers}")
        if s.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {s.log_level!r}")
        db = s.database_url or f"sqlite:///{s.instance_dir / 'postal_bridge.db'}"
        if not db.startswith(("sqlite:", "postgresql")):
            raise ConfigError(
                f"{PREFIX}DATABASE_URL must be sqlite:///… or postgresql+psycopg://…, not {db.split(':')[0]}:…"
            )
        if s.redis_url and urlsplit(s.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"{PREFIX}REDIS_URL must start with redis://, rediss:// or unix://")
        base = s.public_base_url or f"http://{s.host}:{s.port}"
        if urlsplit(base).scheme not in ("http", "https"):
            raise ConfigError(f"{PREFIX}PUBLIC_BASE_URL must be an http(s) URL, not {base!r}")
        if s.geocoder not in ("", "nominatim", "photon"):
            raise ConfigError(f"{PREFIX}GEOCODER must be empty, nominatim or photon, not {s.geocoder!r}")
        if s.geocoder and not s.geocoder_domain:
            raise ConfigError(f"{PREFIX}GEOCODER_DOMAIN is required when {PREFIX}GEOCODER is set (your own server)")
        if s.geocoder_scheme not in ("http", "https"):
            raise ConfigError(f"{PREFIX}GEOCODER_SCHEME must be http or https")
        for name in ("holidays_file", "routes_file", "tariff_file"):
            path = getattr(s, name)
            if path and not Path(path).is_file():
                raise ConfigError(f"{PREFIX}{name.upper()} points to {path!r}, which is not a readable file")
        if s.env == "production" and not s.secret_key:
            raise ConfigError(f"{PREFIX}SECRET_KEY is required when {PREFIX}ENV=production")
        _check_rate_limits(s)
        sandbox = _check_sms(s, base)
        return replace(
            s,
            sms_sandbox=sandbox,
            database_url=db,
            public_base_url=base.rstrip("/"),
            poll_interval_seconds=s.poll_interval_seconds or max(s.sandbox_step_seconds, 1.0),
            log_level=s.log_level.upper(),
        )

    def flask_secret(self) -> str:
        """The configured secret, or one generated once and kept in the instance folder (development)."""
        if self.secret_key:
            return self.secret_key
        path = self.instance_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def _check_rate_limits(s: Settings) -> None:
    from limits import parse_many

    for name in ("rate_limit_login", "rate_limit_api_create"):
        value = getattr(s, name)
        try:
            if not parse_many(value):
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"{PREFIX}{name.upper()} must be limits like '30 per minute; 200 per hour', not {value!r}"
            ) from None


SMS_GATEWAYS = ("console", "esms", "speedsms", "off")
_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]{16,128}")


def _check_sms(s: Settings, base_url: str) -> bool:
    """Validate the SMS settings; returns whether the gateway's sandbox is on (default: on unless production)."""
    from postal_bridge.domain.sms import check_base_url, check_sender

    if s.sms_gateway not in SMS_GATEWAYS:
        raise ConfigError(f"{PREFIX}SMS_GATEWAY must be one of {', '.join(SMS_GATEWAYS)}, not {s.sms_gateway!r}")
    sandbox = s.env != "production" if s.sms_sandbox is None else s.sms_sandbox
    if s.sms_base_url and urlsplit(s.sms_base_url).scheme not in ("http", "https"):
        raise ConfigError(f"{PREFIX}SMS_BASE_URL must be an http(s) URL")
    if s.sms_brandname and (problem := check_sender(s.sms_brandname)):
        raise ConfigError(f"{PREFIX}SMS_BRANDNAME {problem}")
    if s.sms_callback_secret and not _SECRET_CHARS.fullmatch(s.sms_callback_secret):
        raise ConfigError(f"{PREFIX}SMS_CALLBACK_SECRET must be 16 to 128 characters of A-Z a-z 0-9 _ -")
    if s.sms_max_per_day < 1:
        raise ConfigError(f"{PREFIX}SMS_MAX_PER_DAY must be at least 1, not {s.sms_max_per_day}")
    if s.sms_gateway == "esms":
        for name in ("sms_api_key", "sms_secret_key", "sms_brandname"):
            if not getattr(s, name):
                raise ConfigError(f"{PREFIX}{name.upper()} is required when {PREFIX}SMS_GATEWAY=esms")
    if s.sms_gateway == "speedsms":
        if not s.sms_api_key:
            raise ConfigError(f"{PREFIX}SMS_API_KEY (the SpeedSMS access token) is required when SMS_GATEWAY=speedsms")
        if sandbox:
            raise ConfigError(
                f"{PREFIX}SMS_SANDBOX must be 0 with SMS_GATEWAY=speedsms: SpeedSMS has no sandbox, every message "
                "is real and charged (use console to try things out)"
            )
    if s.sms_gateway != "off":
        try:
            check_base_url(base_url)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}PUBLIC_BASE_URL {exc} (or set {PREFIX}SMS_GATEWAY=off)") from None
    return sandbox


def _parse(name: str, kind: object, raw: str) -> object:
    kind = str(kind)
    try:
        if kind in ("bool", "bool | None"):
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw).resolve()
    except ValueError:
        expected = {"bool": "1 or 0", "bool | None": "1 or 0", "int": "a whole number", "float": "a number"}.get(
            kind, "a valid value"
        )
        raise ConfigError(f"{name} must be {expected}, not {raw!r}") from None
    return raw
