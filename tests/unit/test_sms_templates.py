"""The templates: each within one 160-unit GSM-7 part for the longest realistic inputs; quiet hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from postal_bridge.config import ConfigError, Settings
from postal_bridge.domain.sms import (
    EVENTS,
    FORBIDDEN,
    MAX_BASE_URL,
    TEMPLATES,
    WORST_CASE,
    SmsContext,
    check_base_url,
    events_for_kind,
    next_send_time,
    render_sms,
    sms_length,
    tracking_link,
)

LONGEST_BASE = "https://buudien-hcc.dichvucong.quangninh.gov.vn/ab"  # MAX_BASE_URL characters
REALISTIC_BASE = "https://dichvucong.hanoi.gov.vn"
TOKEN = "5m3AeezKq0A"  # 11 URL-safe characters, like Consignment.tracking_token
S10 = "EB123456785VN"
CASES = sorted({(event, "return" if kind == "*" else kind) for event, kind in TEMPLATES})


def _ctx(base: str = LONGEST_BASE, **kw) -> SmsContext:
    return replace(WORST_CASE, link=tracking_link(base, TOKEN), **kw)


def test_the_longest_base_url_used_here_is_the_longest_allowed():
    assert len(LONGEST_BASE) == MAX_BASE_URL == 50
    assert len(WORST_CASE.sender) == 11 and len(WORST_CASE.tracking_code or "") == len(S10) == 13
    assert len(TOKEN) == 11


@pytest.mark.parametrize(("event", "kind"), CASES)
@pytest.mark.parametrize("base", [LONGEST_BASE, REALISTIC_BASE, "http://127.0.0.1:8000"])
def test_every_template_fits_one_gsm7_part_for_the_longest_inputs(event, kind, base):
    text = render_sms(event, _ctx(base, kind=kind))
    n = sms_length(text)
    assert (n.encoding, n.parts) == ("gsm7", 1)
    assert n.units <= 160
    assert not set(text) & FORBIDDEN
    assert text.startswith("HCCQUANGNIN: ")
    if event == "otp":
        assert "123456" in text and "Khong chia se" in text
        assert "/t/" not in text
    else:
        assert tracking_link(base, TOKEN) in text  # the link is never shortened
    if any("{item}" in v or "{tracking_code}" in v for v in TEMPLATES[(event, kind if event != "otp" else "*")]):
        assert S10 in text  # nor the item code


@pytest.mark.parametrize(("event", "kind"), CASES)
def test_templates_carry_no_personal_data_and_nothing_promotional(event, kind):
    for variant in TEMPLATES[(event, kind if event != "otp" else "*")]:
        low = variant.lower()
        for word in ("khuyen mai", "giam gia", "uu dai", "qc", "{name", "{address", "{document"):
            assert word not in low
        assert variant.isascii()


def test_with_a_short_sender_and_office_the_richest_wording_is_used():
    ctx = SmsContext(
        sender="HCC-HN",
        link=tracking_link(REALISTIC_BASE, TOKEN),
        tracking_code=S10,
        post_office="Bưu cục Ba Đình",
        hotline="024 3825 3536",
        date=date(2026, 3, 12),
    )
    assert render_sms("available_for_pickup", ctx) == (
        "HCC-HN: Moi ban den Buu cuc Ba Dinh nhan ket qua ho so EB123456785VN den het 12/03/2026, "
        "mang theo CCCD. Tra cuu: https://dichvucong.hanoi.gov.vn/t/5m3AeezKq0A"
    )
    assert render_sms("out_for_delivery", ctx) == (
        "HCC-HN: Buu ta dang phat ket qua ho so EB123456785VN den ban hom nay. Vui long xuat trinh CCCD khi nhan. "
        "Tra cuu: https://dichvucong.hanoi.gov.vn/t/5m3AeezKq0A"
    )
    assert render_sms("delivered", replace(ctx, kind="pickup")) == (
        "HCC-HN: Ho so EB123456785VN cua ban da duoc chuyen den co quan giai quyet. Ngay hen tra ket qua: "
        "12/03. Tra cuu: https://dichvucong.hanoi.gov.vn/t/5m3AeezKq0A"
    )  # the year gave way first


def test_variable_parts_are_shortened_or_left_out_never_cut_in_the_middle():
    office = "Điểm Bưu điện - Văn hóa xã Đắk Rơ Wa, tỉnh Quảng Ngãi"
    realistic = render_sms("available_for_pickup", _ctx(REALISTIC_BASE, sender="HCC-HN", post_office=office))
    assert "Diem BDVHX Dak Ro Wa" in realistic  # the long official name in its short form
    assert "31/12" in realistic
    longest = render_sms("available_for_pickup", _ctx(LONGEST_BASE, post_office=office))
    assert "Moi ban den buu cuc nhan" in longest  # no room left: the generic wording, the whole link and code
    failed = render_sms(
        "delivery_failed", _ctx(REALISTIC_BASE, sender="HCC-HN", hotline=None, post_office="Bưu cục Trung tâm Ba Đình")
    )
    assert failed == (
        "HCC-HN: Chua phat duoc ket qua ho so EB123456785VN. Moi ban nhan tai Buu cuc Trung tam Ba Dinh. "
        "Tra cuu: https://dichvucong.hanoi.gov.vn/t/5m3AeezKq0A"
    )  # the date gave way; the office's name stayed whole


def test_the_item_code_is_left_out_only_when_there_is_none():
    link = tracking_link(REALISTIC_BASE, TOKEN)
    assert render_sms("booked", SmsContext(sender="HCC-HN", link=link)) == (
        "HCC-HN: Ket qua ho so cua ban se duoc gui qua buu dien. Tra cuu: https://dichvucong.hanoi.gov.vn/t/5m3AeezKq0A"
    )
    assert render_sms("delivered", SmsContext(sender="HCC-HN", link=link)).startswith(
        "HCC-HN: Ket qua ho so da duoc phat thanh cong."
    )
    with_code = render_sms("booked", SmsContext(sender="HCC-HN", link=link, tracking_code=S10))
    assert "ma buu gui EB123456785VN." in with_code


def test_a_one_time_code_must_be_six_digits():
    for bad in (None, "12345", "1234567", "12a456", "١٢٣٤٥٦"):
        with pytest.raises(ValueError, match="6 digits"):
            render_sms("otp", SmsContext(sender="HCC-HN", code=bad))
    assert render_sms("otp", SmsContext(sender="HCC-HN", code="004217")) == (
        "HCC-HN: Ma xac thuc cua ban la 004217. Khong chia se ma nay cho ai."
    )


def test_unknown_events_and_kinds_are_refused():
    link = tracking_link(REALISTIC_BASE, TOKEN)
    with pytest.raises(ValueError, match="no SMS template"):
        render_sms("picked_up", SmsContext(sender="HCC", link=link))
    with pytest.raises(ValueError, match="no SMS template"):
        render_sms("out_for_delivery", SmsContext(sender="HCC", link=link, kind="pickup"))
    with pytest.raises(ValueError, match="no SMS template"):
        render_sms("booked", SmsContext(sender="HCC", link=link, kind="transfer"))
    assert events_for_kind("transfer") == ()
    assert events_for_kind("pickup") == ("booked", "delivered")
    assert set(events_for_kind("return")) == set(EVENTS) - {"otp"}


def test_a_base_url_too_long_or_unsendable_is_refused():
    check_base_url(LONGEST_BASE)
    with pytest.raises(ValueError, match="at most 50"):
        check_base_url(LONGEST_BASE + "x")
    for bad in ("https://hcc.vn/a b", "https://user@hcc.vn", "https://hcc.vn/%7E", "https://dịchvụcông.vn"):
        with pytest.raises(ValueError):
            check_base_url(bad)
    with pytest.raises(ValueError, match="cannot fit"):
        render_sms("returned_to_agency", _ctx("https://" + "a" * 70))


def test_start_up_stops_with_one_line_naming_the_public_base_url():
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({"POSTAL_BRIDGE_PUBLIC_BASE_URL": LONGEST_BASE + "x"})
    assert str(exc.value).startswith("POSTAL_BRIDGE_PUBLIC_BASE_URL ")
    assert "\n" not in str(exc.value)
    # With SMS off the long URL is only used on labels and pages.
    assert Settings.from_env({"POSTAL_BRIDGE_PUBLIC_BASE_URL": LONGEST_BASE + "x", "POSTAL_BRIDGE_SMS_GATEWAY": "off"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"POSTAL_BRIDGE_SMS_GATEWAY": "vnpt"}, "POSTAL_BRIDGE_SMS_GATEWAY must be one of"),
        ({"POSTAL_BRIDGE_SMS_GATEWAY": "esms"}, "POSTAL_BRIDGE_SMS_API_KEY is required"),
        (
            {
                "POSTAL_BRIDGE_SMS_GATEWAY": "esms",
                "POSTAL_BRIDGE_SMS_API_KEY": "k",
                "POSTAL_BRIDGE_SMS_SECRET_KEY": "s",
            },
            "POSTAL_BRIDGE_SMS_BRANDNAME is required",
        ),
        ({"POSTAL_BRIDGE_SMS_GATEWAY": "speedsms", "POSTAL_BRIDGE_SMS_API_KEY": "t"}, "POSTAL_BRIDGE_SMS_SANDBOX"),
        ({"POSTAL_BRIDGE_SMS_BRANDNAME": "HCC QUANG NINH"}, "POSTAL_BRIDGE_SMS_BRANDNAME must be at most 11"),
        ({"POSTAL_BRIDGE_SMS_CALLBACK_SECRET": "short"}, "POSTAL_BRIDGE_SMS_CALLBACK_SECRET"),
        ({"POSTAL_BRIDGE_SMS_SANDBOX": "maybe"}, "POSTAL_BRIDGE_SMS_SANDBOX must be 1 or 0"),
        ({"POSTAL_BRIDGE_SMS_MAX_PER_DAY": "0"}, "POSTAL_BRIDGE_SMS_MAX_PER_DAY must be at least 1"),
        ({"POSTAL_BRIDGE_SMS_BASE_URL": "ftp://x"}, "POSTAL_BRIDGE_SMS_BASE_URL"),
    ],
)
def test_sms_settings_are_validated_with_one_line_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=message) as exc:
        Settings.from_env(env)
    assert "\n" not in str(exc.value)


def test_the_sandbox_is_on_unless_production():
    assert Settings.from_env({}).sms_sandbox is True
    prod = {"POSTAL_BRIDGE_ENV": "production", "POSTAL_BRIDGE_SECRET_KEY": "x" * 32}
    assert Settings.from_env(prod).sms_sandbox is False
    assert Settings.from_env({**prod, "POSTAL_BRIDGE_SMS_SANDBOX": "1"}).sms_sandbox is True
    token = "speedsms-token-not-for-logs"
    speed = {
        "POSTAL_BRIDGE_SMS_GATEWAY": "speedsms",
        "POSTAL_BRIDGE_SMS_API_KEY": token,
        "POSTAL_BRIDGE_SMS_SANDBOX": "0",
    }
    settings = Settings.from_env(speed)
    assert (settings.sms_gateway, settings.sms_api_key) == ("speedsms", token)
    assert token not in repr(settings)  # secrets stay out of reprs


# Quiet hours: 07:00–22:00 Asia/Ho_Chi_Minh (UTC+7).


def _local(y, m, d, hh, mm) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=7)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (_local(2026, 3, 10, 6, 59), _local(2026, 3, 10, 7, 0)),
        (_local(2026, 3, 10, 7, 0), _local(2026, 3, 10, 7, 0)),
        (_local(2026, 3, 10, 12, 30), _local(2026, 3, 10, 12, 30)),
        (_local(2026, 3, 10, 21, 59), _local(2026, 3, 10, 21, 59)),
        (_local(2026, 3, 10, 22, 0), _local(2026, 3, 11, 7, 0)),
        (_local(2026, 3, 10, 23, 59), _local(2026, 3, 11, 7, 0)),
        (_local(2026, 3, 11, 0, 0), _local(2026, 3, 11, 7, 0)),
        (_local(2026, 3, 11, 3, 15), _local(2026, 3, 11, 7, 0)),
        (_local(2026, 12, 31, 22, 30), _local(2027, 1, 1, 7, 0)),  # across the year
        (_local(2028, 2, 28, 23, 0), _local(2028, 2, 29, 7, 0)),  # a leap day
    ],
)
def test_next_send_time(now, expected):
    got = next_send_time(now)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_next_send_time_reads_the_instant_not_the_offset_it_is_given():
    from datetime import timezone

    hanoi_2230 = datetime(2026, 3, 10, 22, 30, tzinfo=timezone(timedelta(hours=7)))
    assert next_send_time(hanoi_2230) == _local(2026, 3, 11, 7, 0)
    assert next_send_time(hanoi_2230.astimezone(UTC)) == _local(2026, 3, 11, 7, 0)
    with pytest.raises(ValueError, match="aware"):
        next_send_time(datetime(2026, 3, 10, 12, 0))
