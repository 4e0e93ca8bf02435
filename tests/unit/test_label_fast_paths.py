"""The label renderer's fast paths draw exactly what the generic reportlab paths they replace would draw."""

from __future__ import annotations

import random

import pytest
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth

from labels.barcodes import _qr_rects, qr_matrix
from labels.consignment_label import _simple_split, _width
from labels.fonts import BOLD, REGULAR, ensure_fonts

SAMPLE_TEXT = (
    "Nguyễn Thị Hằng Số 12 ngõ 34 phố Láng Hạ Phường Đống Đa Thành phố Hà Nội Trung tâm Phục vụ hành chính công "
    "tỉnh Tuyên Quang 0912 345 678 HS-2025-000123 000.00.12.H29-250101-0001 Phát tận tay – kiểm tra CCCD "
    "Quốc Tử Giám Hồ Chí Minh WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW iiiiiiii"
)
WORDS = tuple(SAMPLE_TEXT.split(" "))


@pytest.mark.parametrize(
    "payload",
    [
        "https://tracuu.example.gov.vn/van-don/EB123456785VN#EB123456785VN",
        "x",
        "https://tracuu.example.gov.vn/van-don/" + "A" * 120 + "#RR000000001VN",
    ],
)
def test_qr_rectangles_cover_exactly_the_dark_modules_without_overlap(payload):
    matrix = qr_matrix(payload)
    n = len(matrix)
    covered = [[0] * len(row) for row in matrix]
    for x, y, w, h in _qr_rects(matrix):
        assert w > 0 and h > 0
        for row in range(n - y - h, n - y):  # y counts rows from the bottom
            for col in range(x, x + w):
                covered[row][col] += 1
    assert covered == [[1 if v else 0 for v in row] for row in matrix]


def test_simple_split_breaks_exactly_like_reportlab():
    ensure_fonts()
    rng = random.Random(20261203)
    for _ in range(400):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 25)))
        font = rng.choice((REGULAR, BOLD))
        size = rng.choice((6.5, 8.0, 9.0, 10.0, 12.0 * 1.15, 16.0 * 0.45, 13.0))
        width = rng.uniform(20.0, 280.0)
        assert _simple_split(text, font, size, width) == simpleSplit(text, font, size, width), (text, size, width)


def test_memoised_width_is_reportlabs_width():
    ensure_fonts()
    for word in WORDS:
        for size in (6.5, 9.0, 16.0 * 1.3):
            assert _width(word, BOLD, size) == stringWidth(word, BOLD, size)
