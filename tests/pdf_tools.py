"""Inspect generated PDFs with poppler-utils (pdftotext, pdfinfo, pdffonts, pdftoppm); decode barcodes with zxing-cpp.

Shared by any test that renders PDFs. Missing poppler is an error, never a skip: the tests exist to prove the PDFs
print and scan, so a machine that cannot check that must not report green.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PIL import Image

T = TypeVar("T")

INSTALL_HINT = "install poppler-utils: `apt-get install poppler-utils`"


class PopplerMissingError(RuntimeError):
    pass


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PopplerMissingError(f"`{name}` was not found on PATH; the PDF tests need it -- {INSTALL_HINT}")
    return path


def _run(args: list[str]) -> str:
    proc = subprocess.run(args, capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode("utf-8")


def _with_pdf(pdf_bytes: bytes, fn: Callable[[Path, Path], T]) -> T:
    """Write the PDF to a private temp dir and call ``fn(pdf_path, temp_dir)``."""
    with tempfile.TemporaryDirectory(prefix="pdf-tools-") as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(pdf_bytes)
        return fn(path, Path(tmp))


def _page_args(first_page: int | None, last_page: int | None) -> list[str]:
    args: list[str] = []
    if first_page is not None:
        args += ["-f", str(first_page), "-l", str(last_page if last_page is not None else first_page)]
    elif last_page is not None:
        args += ["-l", str(last_page)]
    return args


def pdftotext(pdf_bytes: bytes, first_page: int | None = None, last_page: int | None = None) -> str:
    """``pdftotext -layout`` as UTF-8; with ``first_page`` alone, just that one page."""
    exe = _tool("pdftotext")
    return _with_pdf(
        pdf_bytes,
        lambda p, _: _run([exe, "-layout", "-enc", "UTF-8", *_page_args(first_page, last_page), str(p), "-"]),
    )


def pdfinfo(pdf_bytes: bytes) -> dict:
    """``pdfinfo`` fields (``{"Pages": "1", "Title": ...}``) plus ``page_sizes``: [(width_pt, height_pt), ...]."""
    exe = _tool("pdfinfo")
    out = _with_pdf(pdf_bytes, lambda p, _: _run([exe, "-f", "1", "-l", "100000", str(p)]))
    info: dict = {"page_sizes": []}
    for line in out.splitlines():
        size = re.match(r"Page\s+\d+\s+size:\s+([\d.]+) x ([\d.]+) pts", line)
        if size:
            info["page_sizes"].append((float(size.group(1)), float(size.group(2))))
            continue
        key, sep, value = line.partition(":")
        if sep and not key.startswith("Page "):
            info[key.strip()] = value.strip()
    return info


def pdffonts(pdf_bytes: bytes) -> list[dict]:
    """One dict per ``pdffonts`` row: name, type, encoding, emb, sub, uni, object ID (columns cut at the dashes)."""
    exe = _tool("pdffonts")
    out = _with_pdf(pdf_bytes, lambda p, _: _run([exe, str(p)]))
    lines = out.splitlines()
    if len(lines) < 2:
        return []
    header, dashes, *rows = lines
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", dashes)]
    names = [header[a:b].strip() if i < len(spans) - 1 else header[a:].strip() for i, (a, b) in enumerate(spans)]
    result = []
    for row in rows:
        if not row.strip():
            continue
        values = [
            row[a : spans[i + 1][0]].strip() if i < len(spans) - 1 else row[a:].strip()
            for i, (a, _) in enumerate(spans)
        ]
        result.append(dict(zip(names, values, strict=True)))
    return result


def rasterise(pdf_bytes: bytes, dpi: int, mono: bool) -> list[Image.Image]:
    """Every page through ``pdftoppm -r DPI -mono|-gray -png``, loaded into memory, in page order."""
    exe = _tool("pdftoppm")

    def run(path: Path, tmp: Path) -> list[Image.Image]:
        _run([exe, "-r", str(dpi), "-mono" if mono else "-gray", "-png", str(path), str(tmp / "page")])
        pages = sorted(tmp.glob("page-*.png"), key=lambda f: int(f.stem.rsplit("-", 1)[1]))
        images = []
        for page in pages:
            with Image.open(page) as img:
                img.load()
                images.append(img.copy())
        return images

    return _with_pdf(pdf_bytes, run)


def decode(image: Image.Image) -> list[tuple[str, str]]:
    """All barcodes zxing-cpp finds in ``image`` as (format name, text), e.g. ``("Code128", "EB123456785VN")``."""
    import zxingcpp

    return [(result.format.name, result.text) for result in zxingcpp.read_barcodes(image.convert("L"))]


@dataclass(frozen=True)
class Word:
    text: str
    x_min: float
    y_min: float  # from the top of the page, in points
    x_max: float
    y_max: float

    def overlaps(self, other: Word, tolerance: float = 0.3) -> bool:
        return (
            self.x_min < other.x_max - tolerance
            and other.x_min < self.x_max - tolerance
            and self.y_min < other.y_max - tolerance
            and other.y_min < self.y_max - tolerance
        )


_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


def word_boxes(pdf_bytes: bytes) -> list[list[Word]]:
    """Per page, every word ``pdftotext -bbox`` finds with its box (points, y down from the top)."""
    import html

    exe = _tool("pdftotext")
    out = _with_pdf(pdf_bytes, lambda p, _: _run([exe, "-bbox", "-enc", "UTF-8", str(p), "-"]))
    pages = []
    for page in out.split("<page ")[1:]:
        pages.append(
            [
                Word(
                    html.unescape(m.group(5)),
                    float(m.group(1)),
                    float(m.group(2)),
                    float(m.group(3)),
                    float(m.group(4)),
                )
                for m in _WORD.finditer(page)
            ]
        )
    return pages
