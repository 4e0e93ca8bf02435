"""Unaccented Vietnamese in GSM-7, and how gateways count and split a text (engineering.md §5.2)."""

from __future__ import annotations

import unicodedata

import pytest

from postal_bridge.domain.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    check_sender,
    mask_phone,
    sender_name,
    sms_length,
    sms_safe,
    strip_diacritics,
)

# Every precomposed Vietnamese letter, by the unaccented letter it becomes: 67 lower-case and 67 upper-case.
LETTERS = {
    "a": "àáảãạăằắẳẵặâầấẩẫậ",
    "e": "èéẻẽẹêềếểễệ",
    "i": "ìíỉĩị",
    "o": "òóỏõọôồốổỗộơờớởỡợ",
    "u": "ùúủũụưừứửữự",
    "y": "ỳýỷỹỵ",
    "d": "đ",
    "A": "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ",
    "E": "ÈÉẺẼẸÊỀẾỂỄỆ",
    "I": "ÌÍỈĨỊ",
    "O": "ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ",
    "U": "ÙÚỦŨỤƯỪỨỬỮỰ",
    "Y": "ỲÝỶỸỴ",
    "D": "Đ",
}


def test_the_letter_table_holds_all_134_precomposed_vietnamese_letters():
    letters = "".join(LETTERS.values())
    assert len(letters) == len(set(letters)) == 134
    assert all(unicodedata.normalize("NFC", ch) == ch and not ch.isascii() for ch in letters)


@pytest.mark.parametrize(("plain", "accented"), sorted(LETTERS.items()))
def test_every_vietnamese_letter_loses_its_marks(plain, accented):
    assert strip_diacritics(accented) == plain * len(accented)
    assert strip_diacritics(unicodedata.normalize("NFD", accented)) == plain * len(accented)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Thị Hằng", "Nguyen Thi Hang"),
        ("Phường Đống Đa", "Phuong Dong Da"),
        ("Xã Ia Grai", "Xa Ia Grai"),
        ("Đặc khu Phú Quốc", "Dac khu Phu Quoc"),
        ("Thành phố Hồ Chí Minh", "Thanh pho Ho Chi Minh"),
        ("Tỉnh Đắk Lắk", "Tinh Dak Lak"),
        ("Xã Đắk Rơ Wa", "Xa Dak Ro Wa"),
        ("Phường Thủ Dầu Một", "Phuong Thu Dau Mot"),
        ("Bưu cục Ba Đình", "Buu cuc Ba Dinh"),
        ("Số 12 ngõ 34 phố Láng Hạ", "So 12 ngo 34 pho Lang Ha"),
        ("Trung tâm Phục vụ hành chính công", "Trung tam Phuc vu hanh chinh cong"),
        ("Giấy chứng nhận quyền sử dụng đất", "Giay chung nhan quyen su dung dat"),
        ("Ủy ban nhân dân xã Ơn", "Uy ban nhan dan xa On"),
        ("TRẦN VĂN ĐỨC", "TRAN VAN DUC"),
    ],
)
def test_real_names_and_places(text, expected):
    assert strip_diacritics(text) == expected
    assert strip_diacritics(unicodedata.normalize("NFD", text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“Kết quả” đã phát", '"Ket qua" da phat'),
        ("‘Bưu điện’", "'Buu dien'"),
        ("Hà Nội – Huế — Sài Gòn", "Ha Noi - Hue - Sai Gon"),
        ("chờ…", "cho..."),
        ("số\u00a012", "so 12"),
        ("０９１２ ３４５ ６７８", "0912 345 678"),  # full-width digits pasted from a form
        ("Xin chào 👋", "Xin chao "),  # no GSM-7 form: dropped
        ("北京 Bắc Kinh", " Bac Kinh"),
        ("5×2", "5x2"),
        ("€ và [ ]", "€ va [ ]"),  # GSM-7 extension characters stay: they are GSM-7
    ],
)
def test_punctuation_and_characters_outside_gsm7(text, expected):
    out = strip_diacritics(text)
    assert out == expected
    assert all(ch in GSM7_BASIC | GSM7_EXTENSION for ch in out)


def test_variable_parts_lose_what_gateways_refuse():
    assert sms_safe("Bưu cục #3 & [Hà Nội] {A} \\ <b> a@b 100%") == "Buu cuc 3 Ha Noi A b> a b 100"
    assert sms_safe("  Phường\n\tBa   Đình € ^ | ~ ") == "Phuong Ba Dinh"


def test_sender_names_are_eleven_plain_characters_at_most():
    assert sender_name("HCC-HN") == "HCC-HN"
    assert sender_name("Trung tâm HCC Hà Nội") == "Trung tam H"
    assert sender_name("UBND #Đống Đa") == "UBND Dong D"
    assert check_sender("HCCHANOI") is None
    assert check_sender("HCC.QN-01") is None
    assert check_sender("HCCQUANGNINH") == "must be at most 11 characters, not 12"
    assert check_sender("HCC_HN") is not None
    assert check_sender("Hà Nội") is not None
    assert check_sender(" ") == "must not be empty"


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", "gsm7", 0, 0),
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("{" * 80, "gsm7", 160, 1),  # extension characters cost two units
        ("{" * 81, "gsm7", 162, 2),
        ("a" * 150 + "[]|€^", "gsm7", 160, 1),
        ("a" * 152 + "€" * 77, "gsm7", 306, 3),  # 306 units, but an escape pair is never split across parts
        ("Đống Đa", "ucs2", 7, 1),
        ("Đ" * 70, "ucs2", 70, 1),
        ("Đ" * 71, "ucs2", 71, 2),
        ("Đ" * 134, "ucs2", 134, 2),
        ("Đ" * 135, "ucs2", 135, 3),
        ("a" * 68 + "👋", "ucs2", 70, 1),  # outside the BMP: a surrogate pair, two units
        ("a" * 66 + "👋" + "a" * 66, "ucs2", 134, 3),  # the pair stays whole: 66 | 2 + 65 | 1
    ],
)
def test_lengths_and_parts(text, encoding, units, parts):
    n = sms_length(text)
    assert (n.encoding, n.units, n.parts) == (encoding, units, parts)


def test_a_notice_with_accents_costs_two_or_three_parts_and_one_without():
    accented = (
        "HCC Đống Đa: Kết quả hồ sơ của bạn đã được gửi qua bưu điện, mã EB123456785VN. "
        "Tra cứu: https://hcc.vn/t/5m3AeezKq0A"
    )
    assert sms_length(accented).encoding == "ucs2"
    assert sms_length(accented).parts in (2, 3)
    plain = strip_diacritics(accented)
    assert (sms_length(plain).encoding, sms_length(plain).parts) == ("gsm7", 1)


def test_phones_are_masked_for_logs():
    assert mask_phone("+84912345678") == "09xx xxx 678"
    assert mask_phone("") == ""
