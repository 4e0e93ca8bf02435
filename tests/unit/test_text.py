"""Vietnamese text is normalised to NFC; ``nfc`` also trims and collapses whitespace."""

from __future__ import annotations

import unicodedata

import pytest

from postal_bridge.domain.text import nfc, nfc_deep

NAME_NFC = "Nguy\u1ec5n Th\u1ecb H\u1eb1ng"  # "Nguyễn Thị Hằng", precomposed
# The same name fully decomposed: base letters followed by combining marks.
NAME_NFD = "Nguye\u0302\u0303n Thi\u0323 Ha\u0306\u0300ng"


def test_fixture_strings_really_differ() -> None:
    assert NAME_NFC == "Nguyễn Thị Hằng"
    assert NAME_NFD != NAME_NFC
    assert unicodedata.normalize("NFD", NAME_NFC) == NAME_NFD
    assert len(NAME_NFD) > len(NAME_NFC)


def test_nfc_composes_nfd_vietnamese() -> None:
    out = nfc(NAME_NFD)
    assert out == NAME_NFC
    assert out.encode("utf-8") == NAME_NFC.encode("utf-8")
    assert unicodedata.is_normalized("NFC", out)


@pytest.mark.parametrize(
    "text",
    ["Phường Đống Đa", "Thành phố Hồ Chí Minh", "Số 12 ngõ 34 phố Láng Hạ", "Đã phát thành công", "Ủy ban nhân dân"],
)
def test_nfc_round_trip(text: str) -> None:
    assert nfc(unicodedata.normalize("NFD", text)) == text
    assert nfc(text) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Nguyễn   Thị  Hằng  ", "Nguyễn Thị Hằng"),
        ("Nguyễn\tThị\nHằng", "Nguyễn Thị Hằng"),
        ("\u00a0Số 12\u3000ngõ 34\r\n", "Số 12 ngõ 34"),
        ("", ""),
        ("   ", ""),
        ("a", "a"),
    ],
)
def test_nfc_trims_and_collapses_whitespace(raw: str, expected: str) -> None:
    assert nfc(raw) == expected


def test_nfc_collapses_whitespace_of_decomposed_text() -> None:
    assert nfc("  " + NAME_NFD.replace(" ", "   ") + "\n") == NAME_NFC


def test_nfc_deep_normalises_nested_keys_and_values() -> None:
    body = {
        "citizen": {
            "name": NAME_NFD,
            "aliases": [NAME_NFD, {"Ha\u0306\u0300ng": "Thi\u0323"}],
        },
        "Thi\u0323": NAME_NFD,
        "items": [[NAME_NFD]],
    }
    out = nfc_deep(body)
    assert out == {
        "citizen": {"name": NAME_NFC, "aliases": [NAME_NFC, {"Hằng": "Thị"}]},
        "Thị": NAME_NFC,
        "items": [[NAME_NFC]],
    }
    # Every string anywhere in the result is NFC.
    stack: list[object] = [out]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            assert unicodedata.is_normalized("NFC", item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def test_nfc_deep_leaves_non_strings_alone() -> None:
    marker = object()
    body = {
        "weight_g": 300,
        "cod": 25_000.0,
        "urgent": True,
        "note": None,
        "marker": marker,
        "bytes": b"Nguye\xcc\x82",
        1: "one",
        "nested": [1, 2.5, False, None, {"k": 0}],
    }
    out = nfc_deep(body)
    assert out == body
    assert out["marker"] is marker
    assert out["urgent"] is True
    assert type(out["weight_g"]) is int
    assert out["bytes"] == b"Nguye\xcc\x82"
    assert 1 in out


def test_nfc_deep_returns_new_containers_and_keeps_the_input() -> None:
    body = {"name": NAME_NFD, "list": [NAME_NFD]}
    out = nfc_deep(body)
    assert body == {"name": NAME_NFD, "list": [NAME_NFD]}
    assert out is not body
    assert out["list"] is not body["list"]


def test_nfc_deep_on_scalars() -> None:
    assert nfc_deep(NAME_NFD) == NAME_NFC
    assert nfc_deep(42) == 42
    assert nfc_deep(None) is None
    assert nfc_deep([]) == []
    assert nfc_deep({}) == {}


def test_nfc_deep_does_not_collapse_whitespace() -> None:
    # Unlike ``nfc``, the deep variant only changes the normal form (free text such as notes keeps its layout).
    assert nfc_deep({"note": "  a\n\nb  "}) == {"note": "  a\n\nb  "}
