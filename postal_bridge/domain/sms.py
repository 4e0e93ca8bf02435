"""SMS to citizens: GSM-7 text, lengths, the templates per event, quiet hours, and what a message is.

Pure stdlib (reference/engineering.md §5, §12.4; domain.md §2.12). Messages go out **unaccented, in GSM-7, at most
160 units: one part**. They are customer-care (CSKH) notices under Decree 91/2020: the sender, what happened, the item
code when known and the tracking link — never the citizen's name, full address or document type, nothing
promotional, and none of ``% # & [ ] { } \\ < @``. The variable parts (post office, hotline, dates) are shortened or
left out so a message always fits; the link and the codes never are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Literal

try:
    from zoneinfo import ZoneInfo

    TZ: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # noqa: BLE001 - no tz database installed: Việt Nam has kept UTC+7 without DST since 1975
    TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

# --------------------------------------------------------------------------------------------------------------------
# GSM 03.38

# The basic table, row by row as in 3GPP TS 23.038 §6.2.1 (0x1B, the escape to the extension table, left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two units (escape + character).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7 = GSM7_BASIC | GSM7_EXTENSION
# Characters Vietnamese brandname gateways refuse or mangle in content (engineering.md §5.2).
FORBIDDEN = frozenset("%#&[]{}\\<@")

SINGLE_GSM7, PART_GSM7 = 160, 153
SINGLE_UCS2, PART_UCS2 = 70, 67


@dataclass(frozen=True)
class SmsLength:
    encoding: Literal["gsm7", "ucs2"]
    units: int  # GSM-7 septets (extension characters count 2) or UTF-16 code units
    parts: int  # 1 up to 160 / 70 units; concatenated parts carry 153 / 67 each


def sms_length(text: str) -> SmsLength:
    """How a gateway will encode and split ``text``: GSM-7 when every character is in GSM 03.38, else UCS-2."""
    if all(ch in GSM7 for ch in text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SmsLength("gsm7", sum(sizes), _parts(sizes, SINGLE_GSM7, PART_GSM7))
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # a character outside the BMP is a surrogate pair
    return SmsLength("ucs2", sum(sizes), _parts(sizes, SINGLE_UCS2, PART_UCS2))


def _parts(sizes: list[int], single: int, per_part: int) -> int:
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for size in sizes:  # an escape pair or a surrogate pair is never split across two parts
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


# --------------------------------------------------------------------------------------------------------------------
# Unaccented Vietnamese

# What compatibility decomposition leaves outside GSM-7, mapped by hand (unidecode is GPL; this is ours).
_MAP = {
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "ł": "l",
    "Ł": "L",
    "ı": "i",
    "œ": "oe",
    "Œ": "OE",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "`": "'",
    "´": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "″": '"',
    "«": '"',
    "»": '"',
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "•": "-",
    "·": "-",
    "\t": " ",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\u3000": " ",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\ufeff": "",
    "×": "x",
    "°": "o",
    "º": "o",
    "ª": "a",
}


def strip_diacritics(text: str) -> str:
    """Vietnamese (or any Latin text) as GSM-7 without accents: "Phường Đống Đa" → "Phuong Dong Da".

    Compatibility decomposition (NFKD: NFD plus full-width digits, ligatures and the like), combining marks dropped,
    ``đ→d``, ``Đ→D``, typographic punctuation to its ASCII form (curly quotes, dashes, ellipsis, odd spaces); any
    character still outside GSM 03.38 is dropped.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        ch = _MAP.get(ch, ch)
        out.append("".join(c for c in ch if c in GSM7))
    return "".join(out)


def sms_safe(text: str) -> str:
    """A variable part of a message: unaccented, basic GSM-7 only, no forbidden character, spaces collapsed."""
    bare = strip_diacritics(text)
    kept = "".join(ch if ch in GSM7_BASIC and ch not in FORBIDDEN and ch not in "\r\n" else " " for ch in bare)
    return " ".join(kept.split())


_SENDER_CHARS = re.compile(r"[^A-Za-z0-9 .\-]")
MAX_SENDER = 11


def sender_name(raw: str) -> str:
    """The sender shown in front of a message: letters, digits, space, ``.`` and ``-``, at most 11 characters."""
    return _SENDER_CHARS.sub("", sms_safe(raw))[:MAX_SENDER].strip(" .-")


def check_sender(raw: str) -> str | None:
    """Why ``raw`` is not a valid brandname / short name (≤ 11 of A-Z a-z 0-9 space . -), or ``None``."""
    if not raw or not raw.strip():
        return "must not be empty"
    if len(raw) > MAX_SENDER:
        return f"must be at most {MAX_SENDER} characters, not {len(raw)}"
    if _SENDER_CHARS.search(raw):
        return "may contain only unaccented letters, digits, spaces, '.' and '-'"
    return None


# --------------------------------------------------------------------------------------------------------------------
# Templates

EVENTS = (
    "booked",
    "out_for_delivery",
    "delivery_failed",
    "available_for_pickup",
    "delivered",
    "returned_to_agency",
    "result_ready_early",
    "otp",
)
OTP_EVENT = "otp"
MAX_BASE_URL = 50  # the longest PUBLIC_BASE_URL an SMS link is built on (every template then still fits)
TOKEN_LENGTH = 11  # Consignment.tracking_token


@dataclass(frozen=True)
class SmsContext:
    """What a template may say. Personal data never goes in here: no name, address or document type."""

    sender: str  # the agency's short name or the installation's brandname (≤ 11 characters)
    link: str = ""  # <PUBLIC_BASE_URL>/t/<token>
    kind: str = "return"  # the consignment's kind: return | pickup
    tracking_code: str | None = None  # the item code, once the courier gave one
    post_office: str | None = None  # the office's name, e.g. "Bưu cục Ba Đình"
    hotline: str | None = None  # a number to call, as displayed ("024 3825 3536")
    date: date | None = None  # the event's date: collect by / appointment
    code: str | None = None  # a one-time code (6 digits)
    valid_minutes: int | None = None  # how long the one-time code lives


# Each template is a list of variants, richest first; the first whose fields are all known and which fits is used.
# ``{item}`` is " <item code>" when the code is known, else "" (the code is left out only when there is none).
_R = "return"
_P = "pickup"
_ANY = "*"
TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("booked", _R): (
        "{sender}: Ket qua ho so cua ban se duoc gui qua buu dien, ma buu gui {tracking_code}. Tra cuu: {link}",
        "{sender}: Ket qua ho so cua ban se duoc gui qua buu dien. Tra cuu: {link}",
    ),
    ("booked", _P): (
        "{sender}: Buu dien se den nhan ho so tai dia chi cua ban, ma buu gui {tracking_code}. "
        "Vui long chuan bi du giay to. Tra cuu: {link}",
        "{sender}: Buu dien se den nhan ho so tai dia chi cua ban, ma buu gui {tracking_code}. Tra cuu: {link}",
        "{sender}: Buu dien se den nhan ho so tai dia chi cua ban. Tra cuu: {link}",
    ),
    ("out_for_delivery", _R): (
        "{sender}: Buu ta dang phat ket qua ho so{item} den ban hom nay. "
        "Vui long xuat trinh CCCD khi nhan. Tra cuu: {link}",
        "{sender}: Buu ta dang phat ket qua ho so{item} den ban hom nay. Tra cuu: {link}",
    ),
    ("delivery_failed", _R): (
        "{sender}: Chua phat duoc ket qua ho so{item}. Goi {hotline} de hen phat lai hoac nhan tai {post_office} "
        "den het {date}. Tra cuu: {link}",
        "{sender}: Chua phat duoc ket qua ho so{item}. Moi ban nhan tai {post_office} den het {date}. Tra cuu: {link}",
        "{sender}: Chua phat duoc ket qua ho so{item}. Goi {hotline} de hen phat lai (han {date}). Tra cuu: {link}",
        "{sender}: Chua phat duoc ket qua ho so{item}. Goi {hotline} de hen phat lai hoac nhan tai {post_office}. "
        "Tra cuu: {link}",
        "{sender}: Chua phat duoc ket qua ho so{item}. Goi {hotline} de hen phat lai. Tra cuu: {link}",
        "{sender}: Chua phat duoc ket qua ho so{item}. Moi ban nhan tai {post_office}. Tra cuu: {link}",
        "{sender}: Chua phat duoc ket qua ho so{item}. Tra cuu: {link}",
    ),
    ("available_for_pickup", _R): (
        "{sender}: Moi ban den {post_office} nhan ket qua ho so{item} den het {date}, mang theo CCCD. Tra cuu: {link}",
        "{sender}: Moi ban den {post_office} nhan ket qua ho so{item}, mang theo CCCD. Tra cuu: {link}",
        "{sender}: Moi ban den buu cuc nhan ket qua ho so{item} den het {date}. Tra cuu: {link}",
        "{sender}: Moi ban den buu cuc nhan ket qua ho so{item}. Tra cuu: {link}",
    ),
    ("delivered", _R): (
        "{sender}: Ket qua ho so{item} da duoc phat thanh cong. Neu ban chua nhan duoc, goi {hotline}. Tra cuu: {link}",
        "{sender}: Ket qua ho so{item} da duoc phat thanh cong. Tra cuu: {link}",
    ),
    ("delivered", _P): (
        "{sender}: Ho so{item} cua ban da duoc chuyen den co quan giai quyet. Ngay hen tra ket qua: {date}. "
        "Tra cuu: {link}",
        "{sender}: Ho so{item} cua ban da duoc chuyen den co quan giai quyet. Tra cuu: {link}",
    ),
    ("returned_to_agency", _R): (
        "{sender}: Ket qua ho so{item} chua phat duoc nen da chuyen tra ve co quan. "
        "Moi ban den Bo phan Mot cua de nhan, mang theo CCCD. Tra cuu: {link}",
        "{sender}: Ket qua ho so{item} da chuyen tra ve co quan. Moi ban den Bo phan Mot cua de nhan. Tra cuu: {link}",
        "{sender}: Ket qua ho so{item} da chuyen tra ve co quan. Tra cuu: {link}",
    ),
    ("result_ready_early", _R): (
        "{sender}: Ket qua ho so cua ban da co som hon ngay hen {date}. "
        "Buu dien se phat den dia chi ban da dang ky. Tra cuu: {link}",
        "{sender}: Ket qua ho so cua ban da co som hon ngay hen {date}. Tra cuu: {link}",
        "{sender}: Ket qua ho so cua ban da co som hon ngay hen. Tra cuu: {link}",
    ),
    (OTP_EVENT, _ANY): (
        "{sender}: Ma xac thuc cua ban la {code}, hieu luc {valid_minutes} phut. "
        "Khong chia se ma nay cho bat ky ai, ke ca nhan vien buu dien.",
        "{sender}: Ma xac thuc cua ban la {code}, hieu luc {valid_minutes} phut. Khong chia se ma nay cho ai.",
        "{sender}: Ma xac thuc cua ban la {code}. Khong chia se ma nay cho ai.",
    ),
}
_FIELD = re.compile(r"\{(\w+)\}")
_OTP = re.compile(r"[0-9]{6}")


def events_for_kind(kind: str) -> tuple[str, ...]:
    """The template events a citizen may receive for a consignment of this kind, in lifecycle order (no OTP)."""
    return tuple(e for e in EVENTS if (e, kind) in TEMPLATES)


def has_template(event: str, kind: str) -> bool:
    return (event, kind) in TEMPLATES or (event, _ANY) in TEMPLATES


def render_sms(event: str, ctx: SmsContext) -> str:
    """The message for ``event``: unaccented GSM-7, ≤ 160 units, one part.

    Raises ``ValueError`` for an unknown event or kind, a missing or malformed one-time code, or when even the
    shortest variant (sender, fixed words, code and link) cannot fit — e.g. an absurdly long base URL.
    """
    variants = TEMPLATES.get((event, ctx.kind)) or TEMPLATES.get((event, _ANY))
    if variants is None:
        raise ValueError(f"no SMS template for event {event!r} of a {ctx.kind!r} consignment")
    if event == OTP_EVENT and not (ctx.code and _OTP.fullmatch(ctx.code)):
        raise ValueError("a one-time code must be exactly 6 digits")
    if not ctx.link and event != OTP_EVENT:
        raise ValueError("the tracking link is required")
    if ctx.link and not link_is_sendable(ctx.link):
        raise ValueError("the tracking link must be plain GSM-7 without % # & [ ] { } \\ < @ or spaces")
    values = _values(ctx)
    names_code = any({"item", "tracking_code"} & set(_FIELD.findall(v)) for v in variants)
    for variant in variants:
        needed = set(_FIELD.findall(variant))
        if any(values.get(name) in (None, "") for name in needed - {"item"}):
            continue
        if names_code and values["tracking_code"] and not needed & {"item", "tracking_code"}:
            continue  # a known item code is never left out
        text = _fit(variant, values)
        if text is not None:
            return text
    raise ValueError(
        f"the {event!r} SMS cannot fit in one 160-character part even in its shortest form "
        f"(link of {len(ctx.link)} characters); use a shorter public base URL"
    )


def _values(ctx: SmsContext) -> dict[str, str | None]:
    code = sms_safe(ctx.tracking_code or "").replace(" ", "") or None
    return {
        "sender": sender_name(ctx.sender) or "HCC",
        "link": ctx.link,
        "tracking_code": code,
        "item": f" {code}" if code else "",
        "post_office": sms_safe(ctx.post_office or "") or None,
        "office_short": short_office_name(ctx.post_office or "") or None,
        "hotline": sms_safe(ctx.hotline or "") or None,
        "date": ctx.date.strftime("%d/%m/%Y") if ctx.date else None,
        "code": ctx.code,
        "valid_minutes": str(ctx.valid_minutes) if ctx.valid_minutes else None,
    }


def _fit(variant: str, values: Mapping[str, str | None]) -> str | None:
    """The variant filled in, else with the date as dd/mm, else with the office's short name; ``None`` if too long.

    A name is never cut in the middle (a truncated office name could name another office).
    """
    for vals in _shortenings(variant, values):
        text = variant.format(**{k: v or "" for k, v in vals.items()})
        if fits(text):
            return text
    return None


def _shortenings(variant: str, values: Mapping[str, str | None]) -> Iterator[dict[str, str | None]]:
    vals = dict(values)
    yield vals
    if "{date}" in variant and vals.get("date"):
        vals = {**vals, "date": str(vals["date"])[:5]}  # "12/03/2026" → "12/03"
        yield vals
    short = vals.get("office_short")
    if "{post_office}" in variant and short and short != vals.get("post_office"):
        yield {**vals, "post_office": short}


_OFFICE_PREFIXES = (
    ("diem buu dien - van hoa xa ", "Diem BDVHX "),
    ("diem buu dien van hoa xa ", "Diem BDVHX "),
    ("buu dien van hoa xa ", "BDVHX "),
    ("buu dien trung tam ", "BDTT "),
    ("buu dien thanh pho ", "BD TP "),
    ("buu dien tinh ", "BD tinh "),
    ("buu dien huyen ", "BD huyen "),
)


def short_office_name(name: str) -> str:
    """A post office's name made shorter: no ", tỉnh …" tail, the usual long prefixes abbreviated (BĐVHX)."""
    bare = sms_safe(name).split(",")[0].strip()
    low = bare.lower()
    for prefix, short in _OFFICE_PREFIXES:
        if low.startswith(prefix):
            return short + bare[len(prefix) :]
    return bare


def fits(text: str) -> bool:
    """One GSM-7 part of at most 160 units, with nothing a brandname gateway refuses."""
    n = sms_length(text)
    return n.encoding == "gsm7" and n.units <= SINGLE_GSM7 and not (set(text) & (FORBIDDEN | GSM7_EXTENSION))


def link_is_sendable(link: str) -> bool:
    return bool(link) and all(ch in GSM7_BASIC and ch not in FORBIDDEN and not ch.isspace() for ch in link)


def tracking_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/t/{token}"


# The longest realistic inputs: an 11-character sender, a 13-character S10 item code, an 11-character token, a long
# post-office name, a hotline and a date. ``check_base_url`` renders every template with them.
WORST_CASE = SmsContext(
    sender="HCCQUANGNIN",
    tracking_code="EB123456785VN",
    post_office="Điểm Bưu điện - Văn hóa xã Đắk Rơ Wa, tỉnh Quảng Ngãi",
    hotline="0243 825 3536",
    date=date(2026, 12, 31),
    code="123456",
    valid_minutes=10,
)


def check_base_url(base_url: str) -> None:
    """Raise ``ValueError`` unless every template fits with a tracking link on ``base_url`` (checked at start-up)."""
    base = base_url.rstrip("/")
    if len(base) > MAX_BASE_URL:
        raise ValueError(
            f"is {len(base)} characters long; SMS tracking links need at most {MAX_BASE_URL} "
            "(one 160-character part with the sender, the item code and the words)"
        )
    link = tracking_link(base, "x" * TOKEN_LENGTH)
    if not link_is_sendable(link):
        raise ValueError("must be plain ASCII without spaces or any of % # & [ ] { } \\ < @ to be sent by SMS")
    for (event, kind), _ in TEMPLATES.items():
        ctx = replace(WORST_CASE, link=link, kind=_R if kind == _ANY else kind)
        render_sms(event, ctx)  # raises ValueError naming the event


# --------------------------------------------------------------------------------------------------------------------
# Quiet hours

SEND_FROM = time(7, 0)
SEND_UNTIL = time(22, 0)


def in_sending_hours(now: datetime) -> bool:
    """07:00 ≤ local time < 22:00 in Asia/Ho_Chi_Minh."""
    local = now.astimezone(TZ).time()
    return SEND_FROM <= local < SEND_UNTIL


def next_send_time(now: datetime) -> datetime:
    """``now`` when messages may go out, else the next 07:00 in Hà Nội time — as an aware UTC datetime."""
    if now.tzinfo is None:
        raise ValueError("next_send_time needs an aware datetime")
    if in_sending_hours(now):
        return now.astimezone(UTC)
    local = now.astimezone(TZ)
    day = local.date() if local.time() < SEND_FROM else local.date() + timedelta(days=1)
    return datetime.combine(day, SEND_FROM, TZ).astimezone(UTC)


def local_date(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


# --------------------------------------------------------------------------------------------------------------------
# Messages


class SmsStatus(StrEnum):
    QUEUED = "queued"  # stored, waiting for its send time (or being sent)
    SENT = "sent"  # the gateway accepted it
    DELIVERED = "delivered"  # the gateway reported it reached the phone
    FAILED = "failed"  # refused by the gateway, or reported undelivered
    SKIPPED = "skipped"  # never sent: ``error`` says why (landline, SMS off, limit, personal data purged…)


@dataclass
class SmsMessage:
    """One text to one phone. ``id`` is also the request id the gateway deduplicates on (eSMS ``RequestId``)."""

    id: str
    phone: str  # E.164 ("+84912345678"); "" once personal data was purged
    text: str
    event: str
    created_at: datetime
    scheduled_at: datetime  # not before: the next allowed sending time (07:00–22:00) unless urgent
    consignment_id: str | None = None
    agency_id: str | None = None
    dedupe_key: str | None = None
    status: SmsStatus = SmsStatus.QUEUED
    parts: int = 1
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    gateway: str | None = None
    gateway_message_id: str | None = None
    error: str | None = None  # the skip reason, the gateway's refusal, or the undelivered report

    @property
    def urgent(self) -> bool:
        return self.event == OTP_EVENT

    def expired(self, now: datetime) -> str | None:
        """Why sending it now would mislead (an old one-time code, yesterday's "out for delivery today")."""
        if self.event == OTP_EVENT and now - self.created_at > OTP_LIFETIME:
            return f"one-time code older than {int(OTP_LIFETIME.total_seconds() // 60)} minutes"
        if self.event == "out_for_delivery" and local_date(now) > local_date(self.scheduled_at):
            return "'out for delivery today' is no longer true"
        return None


OTP_LIFETIME = timedelta(minutes=10)


@dataclass
class SmsSettings:
    """One agency's SMS settings: whether its citizens get messages, the short name in front, the hotline."""

    agency_id: str
    enabled: bool = True
    sender: str | None = None  # ≤ 11 characters; default: the installation's brandname, else the agency code
    hotline: str | None = None  # E.164; default: the agency's phone
    updated_at: datetime | None = None


@dataclass(frozen=True)
class SmsSendResult:
    gateway: str
    gateway_message_id: str | None  # the gateway's id (eSMS SMSID, SpeedSMS tranId)
    duplicate: bool = False  # the gateway had already accepted this request id (an earlier attempt got through)


class SmsError(Exception):
    """A gateway refused or could not take a message. ``transient``: trying again later can help."""

    transient = False

    def __init__(self, gateway: str, message: str, *, code: str | None = None, retry_after: int | None = None):
        super().__init__(f"{gateway}: {message}")
        self.gateway = gateway
        self.message = message
        self.code = code
        self.retry_after = retry_after


class SmsTransientError(SmsError):
    """Timeouts, 5xx, rate limits, account-level problems (balance, credentials) a person can fix: retry later."""

    transient = True


class SmsPermanentError(SmsError):
    """This message can never go out as it is (bad number, blocked number, template refused): mark it failed."""


# --------------------------------------------------------------------------------------------------------------------
# Delivery reports


@dataclass(frozen=True)
class SmsReportRequest:
    """A delivery report as it reached ``/webhooks/sms/<gateway>/<secret>``."""

    method: str
    query: Mapping[str, str]
    body: bytes
    content_type: str = ""


@dataclass(frozen=True)
class SmsReport:
    """What one report says about one message; found by our id (request id) or else by the gateway's id."""

    status: SmsStatus  # DELIVERED, FAILED, or SENT (still on its way: nothing changes)
    message_id: str | None = None
    gateway_message_id: str | None = None
    error: str | None = None


class SmsReportInvalid(ValueError):
    """The report's body is not in the gateway's format (answered 400, nothing changes)."""


def apply_report(message: SmsMessage, report: SmsReport, at: datetime) -> bool:
    """Move a queued or sent message to delivered / failed; a final status never changes again."""
    if message.status not in (SmsStatus.QUEUED, SmsStatus.SENT) or report.status == SmsStatus.SENT:
        return False
    if report.status == SmsStatus.DELIVERED:
        message.status, message.delivered_at = SmsStatus.DELIVERED, at
        return True
    if report.status == SmsStatus.FAILED:
        message.status, message.error = SmsStatus.FAILED, (report.error or "reported undelivered")[:500]
        return True
    return False


def mask_phone(e164: str) -> str:
    """``+84912345678`` → ``09xx xxx 678`` (logs and the console gateway)."""
    national = "0" + e164[3:] if e164.startswith("+84") else e164
    if len(national) < 6:
        return "x" * len(national)
    return f"{national[:2]}xx xxx {national[-3:]}"


def segments(text: str) -> int:
    return sms_length(text).parts
