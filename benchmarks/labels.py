"""Label rendering speed, measured in one run against a bare reportlab page on the same machine.

    python -m benchmarks.labels [--iterations 300] [--batch 200] [--check]

After a warm-up (font registration, first renders, zebrafy/PDFium import) it times, single-threaded:

* the baseline: a bare reportlab canvas, one 100×150 mm page, one string, ``pageCompression=1``;
* one label PDF (``PdfLabelRenderer.render_label``), p50/p95;
* a batch of ``--batch`` labels in one PDF (``render_labels``), as labels per second (one core);
* one label as ZPL at 203 dpi (``render_label_zpl``: PDF + zebrafy raster), p50/p95.

Targets (engineering.md §4.6): label p50 ≤ 25× the bare page p50; batch ≥ 100 labels/s per core. It prints progress
on stderr, a markdown table on stdout, and writes the figures to ``benchmarks/results/labels-<YYYY-MM-DD>.json``.
``--check`` exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels import PdfLabelRenderer
from postal_bridge.domain.labels import LabelContent, LabelParty

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 25.0  # label p50 / bare page p50, at most
TARGET_LABELS_PER_S = 100.0  # batch throughput on one core, at least

SAMPLE = LabelContent(
    tracking_code="EB123456785VN",
    tracking_url="https://tracuu.example.gov.vn/van-don/EB123456785VN",
    carrier_name="VNPost",
    service_name="Tiêu chuẩn",
    kind_label="Trả kết quả",
    sender=LabelParty(
        "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
        "0207 3822 123",
        ("Số 1 đường 17/8", "Phường Minh Xuân, Tỉnh Tuyên Quang"),
    ),
    recipient=LabelParty(
        "Nguyễn Thị Hằng", "0912 345 678", ("Số 12 ngõ 34 phố Láng Hạ", "Phường Đống Đa, Thành phố Hà Nội")
    ),
    dossier_code="HS-2025-000123",
    weight_g=250,
    cod_vnd=0,
    postage_vnd=25000,
    handling_note="Phát tận tay – kiểm tra CCCD",
    printed_on=date(2025, 11, 21),
    extra_lines=("Hồ sơ TTHC – trả kết quả tại nhà",),
)

NAMES = ("Nguyễn Thị Hằng", "Trần Văn Đức", "Lê Thị Ánh Tuyết", "Phạm Quỳnh Anh", "Đặng Thị Thùy Dương")


def s10(serial: int, prefix: str = "EB", country: str = "VN") -> str:
    """A UPU S10 item id with its check digit (weights 8 6 4 2 3 5 9 7)."""
    digits = f"{serial % 10**8:08d}"
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    check = 0 if check == 10 else 5 if check == 11 else check
    return f"{prefix}{digits}{check}{country}"


def content(n: int) -> LabelContent:
    """The n-th distinct label (different code, URL and recipient), so nothing can be served from a cache."""
    code = s10(10_000_000 + n)
    return dataclasses.replace(
        SAMPLE,
        tracking_code=code,
        tracking_url=f"https://tracuu.example.gov.vn/van-don/{code}",
        recipient=dataclasses.replace(SAMPLE.recipient, name=NAMES[n % len(NAMES)]),
        dossier_code=f"HS-2025-{n:06d}",
    )


def bare_page() -> bytes:
    buffer = io.BytesIO()
    canv = Canvas(buffer, pagesize=(100 * mm, 150 * mm), pageCompression=1)
    canv.drawString(10 * mm, 140 * mm, "EB123456785VN")
    canv.showPage()
    canv.save()
    return buffer.getvalue()


def progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q) - 1]


def time_calls(name: str, fn: Callable[[int], object], iterations: int) -> dict:
    """Call ``fn(i)`` ``iterations`` times; per-call wall time in ms."""
    progress(f"{name}: {iterations} iterations …")
    samples = []
    for i in range(iterations):
        start = time.perf_counter_ns()
        fn(i)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    stats = {
        "iterations": iterations,
        "p50_ms": statistics.median(samples),
        "p95_ms": percentile(samples, 95),
        "mean_ms": statistics.fmean(samples),
        "min_ms": min(samples),
        "max_ms": max(samples),
    }
    progress(f"{name}: p50 {stats['p50_ms']:.2f} ms, p95 {stats['p95_ms']:.2f} ms")
    return stats


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(iterations: int, batch_size: int, batch_runs: int, zpl_iterations: int) -> dict:
    renderer = PdfLabelRenderer()

    progress("warm-up: fonts, label PDFs, a batch, ZPL (zebrafy + PDFium import) …")
    warm_start = time.perf_counter()
    for i in range(20):
        bare_page()
        renderer.render_label(content(i))
    renderer.render_labels([content(i) for i in range(10)])
    renderer.render_label_zpl(content(0), dpi=203)
    progress(f"warm-up done in {time.perf_counter() - warm_start:.2f} s")

    bare = time_calls("bare page", lambda i: bare_page(), iterations)
    single = time_calls("single label", lambda i: renderer.render_label(content(i)), iterations)
    zpl = time_calls("single ZPL 203 dpi", lambda i: renderer.render_label_zpl(content(i), dpi=203), zpl_iterations)

    progress(f"batch: {batch_runs} × render_labels({batch_size}) …")
    batch_contents = [content(i) for i in range(batch_size)]
    batch_seconds = []
    batch_pdf = b""
    for _ in range(batch_runs):
        start = time.perf_counter_ns()
        batch_pdf = renderer.render_labels(batch_contents)
        batch_seconds.append((time.perf_counter_ns() - start) / 1e9)
    best_typical = statistics.median(batch_seconds)
    batch = {
        "labels": batch_size,
        "runs": batch_runs,
        "seconds_median": best_typical,
        "seconds_all": batch_seconds,
        "labels_per_s": batch_size / best_typical,
        "ms_per_label": best_typical * 1000 / batch_size,
        "pdf_bytes": len(batch_pdf),
        "bytes_per_label": len(batch_pdf) / batch_size,
    }
    progress(f"batch: {batch['labels_per_s']:.0f} labels/s ({batch['ms_per_label']:.2f} ms/label)")

    sizes = {
        "bare_page_bytes": len(bare_page()),
        "label_pdf_bytes": len(renderer.render_label(content(0))),
        "label_zpl_203_bytes": len(renderer.render_label_zpl(content(0), dpi=203)),
        "label_zpl_300_bytes": len(renderer.render_label_zpl(content(0), dpi=300)),
    }
    ratio = single["p50_ms"] / bare["p50_ms"]
    return {
        "benchmark": "labels",
        "date": date.today().isoformat(),
        "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "threads": 1,
            "packages": {p: version(p) for p in ("reportlab", "segno", "zebrafy", "pypdfium2", "pillow")},
        },
        "bare_page": bare,
        "single_label": single,
        "batch": batch,
        "zpl_203": zpl,
        "sizes": sizes,
        "ratios": {
            "label_p50_over_bare_p50": ratio,
            "label_p95_over_bare_p95": single["p95_ms"] / bare["p95_ms"],
            "zpl_p50_over_label_p50": zpl["p50_ms"] / single["p50_ms"],
        },
        "targets": {
            "label_p50_over_bare_p50_max": TARGET_RATIO,
            "batch_labels_per_s_min": TARGET_LABELS_PER_S,
            "label_ratio_met": ratio <= TARGET_RATIO,
            "batch_throughput_met": batch["labels_per_s"] >= TARGET_LABELS_PER_S,
        },
    }


def table(result: dict) -> str:
    bare, single, batch, zpl = result["bare_page"], result["single_label"], result["batch"], result["zpl_203"]
    sizes, targets = result["sizes"], result["targets"]

    def ok(met: bool) -> str:
        return "✓" if met else "✗ MISSED"

    rows = [
        ("bare page p50 (baseline)", f"{bare['p50_ms']:.2f} ms", f"{bare['p50_ms']:.2f} ms", "1.0×"),
        ("bare page p95", f"{bare['p95_ms']:.2f} ms", f"{bare['p95_ms']:.2f} ms", "1.0×"),
        (
            f"single label p50 (target ≤ {TARGET_RATIO:g}×) {ok(targets['label_ratio_met'])}",
            f"{single['p50_ms']:.2f} ms",
            f"{bare['p50_ms']:.2f} ms",
            f"{single['p50_ms'] / bare['p50_ms']:.1f}×",
        ),
        (
            "single label p95",
            f"{single['p95_ms']:.2f} ms",
            f"{bare['p95_ms']:.2f} ms",
            f"{single['p95_ms'] / bare['p95_ms']:.1f}×",
        ),
        (
            f"batch of {batch['labels']}, labels/s, 1 core (target ≥ {TARGET_LABELS_PER_S:g}) "
            f"{ok(targets['batch_throughput_met'])}",
            f"{batch['labels_per_s']:.0f} /s",
            f"{TARGET_LABELS_PER_S:g} /s (target)",
            f"{batch['labels_per_s'] / TARGET_LABELS_PER_S:.2f}×",
        ),
        (
            f"batch of {batch['labels']}, ms/label",
            f"{batch['ms_per_label']:.2f} ms",
            f"{bare['p50_ms']:.2f} ms",
            f"{batch['ms_per_label'] / bare['p50_ms']:.1f}×",
        ),
        (
            "single ZPL 203 dpi p50 (PDF + raster)",
            f"{zpl['p50_ms']:.2f} ms",
            f"{single['p50_ms']:.2f} ms (label PDF)",
            f"{zpl['p50_ms'] / single['p50_ms']:.1f}×",
        ),
        (
            "single ZPL 203 dpi p95",
            f"{zpl['p95_ms']:.2f} ms",
            f"{single['p95_ms']:.2f} ms (label PDF)",
            f"{zpl['p95_ms'] / single['p95_ms']:.1f}×",
        ),
        (
            "label PDF size",
            f"{sizes['label_pdf_bytes'] / 1024:.1f} KB",
            f"{sizes['bare_page_bytes'] / 1024:.1f} KB",
            f"{sizes['label_pdf_bytes'] / sizes['bare_page_bytes']:.1f}×",
        ),
        (
            f"batch PDF size per label ({batch['labels']} labels)",
            f"{batch['bytes_per_label'] / 1024:.1f} KB",
            f"{sizes['label_pdf_bytes'] / 1024:.1f} KB (single)",
            f"{batch['bytes_per_label'] / sizes['label_pdf_bytes']:.2f}×",
        ),
        (
            "label ZPL size, 203 / 300 dpi",
            f"{sizes['label_zpl_203_bytes'] / 1024:.1f} / {sizes['label_zpl_300_bytes'] / 1024:.1f} KB",
            f"{sizes['label_pdf_bytes'] / 1024:.1f} KB (PDF)",
            f"{sizes['label_zpl_203_bytes'] / sizes['label_pdf_bytes']:.2f}×",
        ),
    ]
    lines = ["| figure | value | baseline | ratio |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.labels", description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=300, help="timed calls for the bare page and the label")
    parser.add_argument("--zpl-iterations", type=int, default=100, help="timed ZPL renders")
    parser.add_argument("--batch", type=int, default=200, help="labels in the batch PDF")
    parser.add_argument("--batch-runs", type=int, default=5, help="timed batch renders (the median counts)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for the JSON result")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    result = run(args.iterations, args.batch, args.batch_runs, args.zpl_iterations)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"labels-{result['date']}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    progress(f"wrote {path}")
    print(table(result))
    targets = result["targets"]
    if args.check and not (targets["label_ratio_met"] and targets["batch_throughput_met"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
