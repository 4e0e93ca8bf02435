"""The province's reports: figures per agency / post office / courier as JSON, CSV (Excel) and a printable PDF; the
quarterly / half-year / annual report of Circular 17/2017 Art 13; the data behind the dashboard.

Scope: a normal API key sees its own agency; an admin key sees every agency. Definitions of every figure are in
``postal_bridge.domain.reports``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from postal_bridge.domain import reports as d
from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.reports import Figures, ReportContent, ReportRenderer, ReportTable
from postal_bridge.domain.status import STATUS_LABELS_VI, Kind, Status
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps

CSV_BOM = "\ufeff"
CSV_COLUMNS = (
    "Nhóm",
    "Mã",
    "Tên",
    "Gửi hồ sơ",
    "Nhận kết quả",
    "Liên thông",
    "Tổng số bưu gửi",
    "Đã hủy",
    "Số bưu gửi xét đúng hạn",
    "Đúng hạn",
    "Tỷ lệ đúng hạn (%)",
    "Số bưu gửi đã phát",
    "Phát thành công lần đầu",
    "Tỷ lệ phát thành công lần đầu (%)",
    "Phát thành công",
    "Lượt phát không thành công",
    "Bưu gửi phát không thành công",
    "Lý do phát không thành công",
    "Chuyển hoàn",
    "Lý do chuyển hoàn",
    "Số bưu gửi tính thời gian toàn trình",
    "Thời gian toàn trình trung bình (giờ)",
    "Thời gian toàn trình P95 (giờ)",
    "Thất lạc",
    "Hư hỏng",
    "Mất niêm phong",
    "Khiếu nại",
    "Khiếu nại đã giải quyết",
    "Số vụ bồi thường",
    "Tiền bồi thường (đồng)",
    "Cước (đồng)",
    "COD khai (đồng)",
    "COD đã thu (đồng)",
)
REPORT_TITLE = "BÁO CÁO SẢN LƯỢNG VÀ CHẤT LƯỢNG DỊCH VỤ BƯU CHÍNH CÔNG ÍCH"
PERIODIC_TITLE = "BÁO CÁO TÌNH HÌNH CUNG ỨNG DỊCH VỤ BƯU CHÍNH CÔNG ÍCH"
ALL_AGENCIES = "Tất cả cơ quan, đơn vị"
FAULT_LABELS_VI = {"post": "Do bưu chính", "agency": "Do cơ quan", "citizen": "Do người dân", "none": "Không có lỗi"}


# --------------------------------------------------------------------------------------------------- scope & input


@dataclass(frozen=True)
class Scope:
    agency_id: str | None  # None: every agency
    label: str


def scope_of(caller: Caller) -> Scope:
    if caller.is_admin:
        return Scope(None, ALL_AGENCIES)
    return Scope(caller.agency.id, caller.agency.name)


def check_range(start: date | None, end: date | None) -> tuple[date, date]:
    errors: dict[str, list[str]] = {}
    if start is None:
        errors["from"] = ["Required (YYYY-MM-DD)."]
    if end is None:
        errors["to"] = ["Required (YYYY-MM-DD)."]
    for name, day in (("from", start), ("to", end)):
        if day is not None and not d.FIRST_DAY <= day <= d.LAST_DAY:
            errors[name] = [f"Must be between {d.FIRST_DAY} and {d.LAST_DAY}."]
    if errors:
        raise ValidationFailed(errors)
    if start and end:
        if end < start:
            errors["to"] = ["Must not be before 'from'."]
        elif (end - start).days >= d.MAX_RANGE_DAYS:
            errors["to"] = [f"At most {d.MAX_RANGE_DAYS} days per report; use /reports/periodic for a year."]
    if errors:
        raise ValidationFailed(errors)
    assert start is not None and end is not None
    return start, end


def _today(deps: Deps) -> date:
    return d.local_date(deps.clock.now())


def _office_names(deps: Deps, codes: set[str]) -> dict[str, str]:
    from postal_bridge.services.post_offices import find_office

    names = {}
    for code in codes:
        office = find_office(deps, code)
        names[code] = office.name if office else code
    return names


@dataclass(frozen=True)
class Facts:
    rows: list[d.ReportRow]
    incidents: list[d.IncidentFact]
    complaints: list[d.ComplaintFact]


def load_facts(deps: Deps, scope: Scope, start: date, end: date) -> Facts:
    lo, hi = d.local_bounds(start, end)
    with deps.uow() as uow:
        q = uow.reports
        return Facts(
            rows=q.consignment_rows(start=lo, end=hi, agency_id=scope.agency_id),
            incidents=q.incident_facts(start=lo, end=hi, agency_id=scope.agency_id),
            complaints=q.complaint_facts(start=lo, end=hi, agency_id=scope.agency_id),
        )


# ------------------------------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    group_by: str
    scope: Scope
    generated_at: datetime
    groups: list[Figures]
    total: Figures


def build_report(deps: Deps, caller: Caller, *, start: date | None, end: date | None, group_by: str) -> Report:
    start, end = check_range(start, end)
    if group_by not in d.GROUP_BYS:
        raise ValidationFailed({"group_by": [f"Must be one of: {', '.join(d.GROUP_BYS)}."]})
    scope = scope_of(caller)
    facts = load_facts(deps, scope, start, end)
    codes = {f.post_office_code for f in (*facts.rows, *facts.incidents, *facts.complaints) if f.post_office_code}
    key = d.group_key(group_by, _office_names(deps, codes) if group_by == "post_office" else None)
    groups, total = d.aggregate(facts.rows, facts.incidents, facts.complaints, key=key, today=_today(deps))
    return Report(start, end, group_by, scope, deps.clock.now(), groups, total)


def _r4(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _r2(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _reasons(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"reason": r, "count": n} for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def figures_dict(f: Figures) -> dict[str, Any]:
    return {
        "key": f.key,
        "name": f.label,
        "volume": {**{k.value: f.volume.get(k.value, 0) for k in Kind}, "total": f.total},
        "cancelled": f.cancelled,
        "on_time": {"eligible": f.on_time_eligible, "on_time": f.on_time, "rate": _r4(f.on_time_rate)},
        "first_attempt": {
            "attempted": f.attempted,
            "delivered": f.first_attempt_delivered,
            "rate": _r4(f.first_attempt_rate),
        },
        "delivered": f.delivered,
        "failed": {"attempts": f.failed_attempts, "items": f.failed_items, "reasons": _reasons(f.failed_reasons)},
        "returned": {"items": f.returned, "reasons": _reasons(f.returned_reasons)},
        "transit_hours": {
            "count": f.transit_count,
            "average": _r2(f.transit_avg_hours),
            "p95": _r2(f.transit_p95_hours),
        },
        "incidents": {**{k: f.incidents.get(k, 0) for k in d.INCIDENT_KINDS}, "total": f.incidents_total},
        "complaints": {"received": f.complaints, "resolved": f.complaints_resolved},
        "compensation": {"cases": f.compensation_cases, "total_vnd": f.compensation_vnd},
        "postage_vnd": f.postage_vnd,
        "cod": {"declared_vnd": f.cod_declared_vnd, "collected_vnd": f.cod_collected_vnd},
    }


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "group_by": report.group_by,
        "scope": {"agency_id": report.scope.agency_id, "name": report.scope.label},
        "generated_at": report.generated_at.isoformat(),
        "definitions": (
            "Cohort: consignments registered in the period (Asia/Ho_Chi_Minh days), outcomes as of generated_at; "
            "incidents and complaints by the day they were opened. On time: first attempt (returns) or delivery "
            "(pickups, transfers) on or before due_date (J+n); overdue items without a stop count as late. "
            "Transit: picked_up to delivered, hours; p95 linear (PERCENTILE.INC)."
        ),
        "groups": [figures_dict(g) for g in report.groups],
        "total": figures_dict(report.total),
    }


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.2f}"


def _hours(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def _reason_text(counts: dict[str, int]) -> str:
    return "; ".join(f"{r}: {n}" for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def csv_row(group_label: str, f: Figures) -> list[str | int]:
    return [
        group_label,
        "" if f.key == "*" else f.key,
        f.label,
        f.volume.get(Kind.PICKUP.value, 0),
        f.volume.get(Kind.RETURN.value, 0),
        f.volume.get(Kind.TRANSFER.value, 0),
        f.total,
        f.cancelled,
        f.on_time_eligible,
        f.on_time,
        _pct(f.on_time_rate),
        f.attempted,
        f.first_attempt_delivered,
        _pct(f.first_attempt_rate),
        f.delivered,
        f.failed_attempts,
        f.failed_items,
        _reason_text(f.failed_reasons),
        f.returned,
        _reason_text(f.returned_reasons),
        f.transit_count,
        _hours(f.transit_avg_hours),
        _hours(f.transit_p95_hours),
        f.incidents.get("lost", 0),
        f.incidents.get("damaged", 0),
        f.incidents.get("tampered", 0),
        f.complaints,
        f.complaints_resolved,
        f.compensation_cases,
        f.compensation_vnd,
        f.postage_vnd,
        f.cod_declared_vnd,
        f.cod_collected_vnd,
    ]


def report_csv(report: Report) -> bytes:
    """UTF-8 with a BOM (Excel then reads the Vietnamese correctly), comma-separated, one header row, one row per
    group and a last "Tổng cộng" row. Rates are percentages with a dot decimal; amounts are whole đồng."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    label = d.GROUP_LABELS_VI[report.group_by]
    for g in report.groups:
        writer.writerow(csv_row(label, g))
    writer.writerow(csv_row("Tổng cộng", report.total))
    return (CSV_BOM + buffer.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------------------------------- formatting (VN)


def vn_int(value: int) -> str:
    sign = "-" if value < 0 else ""
    return sign + f"{abs(value):,}".replace(",", ".")


def vn_pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}".replace(".", ",") + " %"


def vn_hours(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}".replace(".", ",")


def vn_date(x: date) -> str:
    return f"{x:%d/%m/%Y}"


def vn_time(x: datetime) -> str:
    return x.astimezone(d.LOCAL_TZ).strftime("%H:%M %d/%m/%Y")


def _renderer(deps: Deps) -> ReportRenderer:
    return cast(ReportRenderer, deps.labels)


def report_content(report: Report) -> ReportContent:
    label = d.GROUP_LABELS_VI[report.group_by]
    everything = [*report.groups, report.total]
    quality = ReportTable(
        heading="I. Sản lượng và chất lượng",
        columns=(
            label,
            "Gửi hồ sơ",
            "Nhận kết quả",
            "Liên thông",
            "Tổng số",
            "Đúng hạn J+n",
            "Phát lần đầu",
            "Phát thành công",
            "Phát không TC (lượt)",
            "Chuyển hoàn",
            "Toàn trình TB (giờ)",
            "Toàn trình P95 (giờ)",
        ),
        rows=tuple(
            (
                f.label,
                vn_int(f.volume.get("pickup", 0)),
                vn_int(f.volume.get("return", 0)),
                vn_int(f.volume.get("transfer", 0)),
                vn_int(f.total),
                vn_pct(f.on_time_rate),
                vn_pct(f.first_attempt_rate),
                vn_int(f.delivered),
                vn_int(f.failed_attempts),
                vn_int(f.returned),
                vn_hours(f.transit_avg_hours),
                vn_hours(f.transit_p95_hours),
            )
            for f in everything
        ),
        widths=(3.2, 1, 1, 1, 1, 1.1, 1.1, 1.1, 1.1, 1, 1.1, 1.1),
        align=("left",) + ("right",) * 11,
    )
    money = ReportTable(
        heading="II. Sự cố, khiếu nại, bồi thường, cước và tiền thu hộ",
        columns=(
            label,
            "Thất lạc",
            "Hư hỏng",
            "Mất niêm phong",
            "Khiếu nại",
            "Đã giải quyết",
            "Vụ bồi thường",
            "Bồi thường (đồng)",
            "Cước (đồng)",
            "COD đã thu (đồng)",
        ),
        rows=tuple(
            (
                f.label,
                vn_int(f.incidents.get("lost", 0)),
                vn_int(f.incidents.get("damaged", 0)),
                vn_int(f.incidents.get("tampered", 0)),
                vn_int(f.complaints),
                vn_int(f.complaints_resolved),
                vn_int(f.compensation_cases),
                vn_int(f.compensation_vnd),
                vn_int(f.postage_vnd),
                vn_int(f.cod_collected_vnd),
            )
            for f in everything
        ),
        widths=(3.2, 0.9, 0.9, 1, 0.9, 1, 1, 1.4, 1.4, 1.4),
        align=("left",) + ("right",) * 9,
    )
    reasons = []
    for f in report.groups:
        for r, n in sorted(f.failed_reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            reasons.append((f.label, "Phát không thành công", r, vn_int(n)))
        for r, n in sorted(f.returned_reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            reasons.append((f.label, "Chuyển hoàn", r, vn_int(n)))
    why = ReportTable(
        heading="III. Lý do phát không thành công và chuyển hoàn",
        columns=(label, "Loại", "Lý do", "Số lượng"),
        rows=tuple(reasons) or (("–", "–", "Không có bưu gửi phát không thành công hay chuyển hoàn", "0"),),
        widths=(3, 1.5, 5, 1),
        align=("left", "left", "left", "right"),
    )
    return ReportContent(
        issuer=report.scope.label,
        title=REPORT_TITLE,
        subtitle=f"Từ ngày {vn_date(report.start)} đến ngày {vn_date(report.end)} · theo {label.lower()}",
        reference=f"BC-{report.start:%Y%m%d}-{report.end:%Y%m%d}",
        generated_at=vn_time(report.generated_at),
        intro=(f"Phạm vi: {report.scope.label}.",),
        tables=(quality, money, why),
        notes=(
            "Bưu gửi tính theo ngày đăng ký trong kỳ; kết quả tính đến thời điểm lập báo cáo. Sự cố và khiếu nại "
            "tính theo ngày mở.",
            "Đúng hạn: lần phát đầu tiên (trả kết quả) hoặc ngày giao cho cơ quan (gửi hồ sơ) không muộn hơn "
            "J+n (Điều 7 Thông tư 17/2017/TT-BTTTT); bưu gửi quá hạn chưa phát tính là chậm.",
            "Thời gian toàn trình: từ khi bưu chính nhận đến khi phát thành công; P95 là phân vị 95.",
        ),
        landscape=True,
    )


def report_pdf(deps: Deps, report: Report) -> bytes:
    return _renderer(deps).render_report(report_content(report))


# ---------------------------------------------------------------------------------- periodic report (TT17 Art 13)


@dataclass(frozen=True)
class PeriodicReport:
    year: int
    period: str
    start: date
    end: date
    deadline: date
    scope: Scope
    generated_at: datetime
    figures: d.PeriodicFigures


def build_periodic(deps: Deps, caller: Caller, *, year: int, period: str) -> PeriodicReport:
    try:
        start, end = d.period_range(year, period)
    except ValueError as exc:
        field = "period" if "period" in str(exc) else "year"
        raise ValidationFailed({field: [str(exc)[0].upper() + str(exc)[1:] + "."]}) from exc
    scope = scope_of(caller)
    facts = load_facts(deps, scope, start, end)
    figures = d.periodic(facts.rows, facts.incidents, facts.complaints, today=_today(deps))
    return PeriodicReport(year, period, start, end, d.report_deadline(year, period), scope, deps.clock.now(), figures)


def periodic_dict(p: PeriodicReport) -> dict[str, Any]:
    f = p.figures
    return {
        "year": p.year,
        "period": p.period,
        "from": p.start.isoformat(),
        "to": p.end.isoformat(),
        "deadline": p.deadline.isoformat(),
        "scope": {"agency_id": p.scope.agency_id, "name": p.scope.label},
        "generated_at": p.generated_at.isoformat(),
        "service_catalogue": [
            {
                "kind": line.kind,
                "name": d.KIND_LABELS_VI.get(line.kind, line.kind),
                "carrier": line.carrier,
                "service": line.service,
                "items": line.items,
                "revenue_vnd": line.revenue_vnd,
            }
            for line in f.catalogue
        ],
        "volume": {**f.volume, "total": sum(f.volume.values())},
        "revenue_vnd": {**f.revenue_vnd, "total": sum(f.revenue_vnd.values())},
        "complaints": {
            "received": f.complaints_received,
            "resolved": f.complaints_resolved,
            "resolved_on_time": f.complaints_resolved_on_time,
            "pending": f.complaints_pending,
            "by_fault": f.complaints_by_fault,
        },
        "incidents": {**f.incidents, "total": sum(f.incidents.values())},
        "compensation": {
            "cases": f.compensation_cases,
            "total_vnd": f.compensation_vnd,
            "paid_vnd": f.compensation_paid_vnd,
        },
        "safety": {
            "items_in_custody": f.items_in_custody,
            "items_safe": f.items_safe,
            "rate": _r4(f.safety_rate),
            "target": 1.0,
        },
        "on_time_rate": _r4(f.on_time_rate),
    }


def periodic_content(p: PeriodicReport) -> ReportContent:
    f = p.figures
    catalogue = ReportTable(
        heading="1. Danh mục dịch vụ cung ứng",
        columns=("STT", "Dịch vụ", "Doanh nghiệp", "Hình thức chuyển phát", "Sản lượng", "Doanh thu (đồng)"),
        rows=tuple(
            (
                str(i),
                d.KIND_LABELS_VI.get(line.kind, line.kind),
                line.carrier,
                d.SERVICE_LABELS_VI.get(line.service, line.service),
                vn_int(line.items),
                vn_int(line.revenue_vnd),
            )
            for i, line in enumerate(f.catalogue, start=1)
        )
        or (("–", "Không có bưu gửi trong kỳ", "", "", "0", "0"),),
        widths=(0.6, 2.2, 1.6, 1.6, 1.2, 1.6),
        align=("center", "left", "left", "left", "right", "right"),
    )
    volume = ReportTable(
        heading="2. Sản lượng và doanh thu",
        columns=("Dịch vụ", "Sản lượng (bưu gửi)", "Doanh thu (đồng)"),
        rows=(
            *(
                (d.KIND_LABELS_VI[k.value], vn_int(f.volume.get(k.value, 0)), vn_int(f.revenue_vnd.get(k.value, 0)))
                for k in Kind
            ),
            ("Tổng cộng", vn_int(sum(f.volume.values())), vn_int(sum(f.revenue_vnd.values()))),
        ),
        widths=(2.5, 1.5, 1.5),
        align=("left", "right", "right"),
    )
    by_fault = "; ".join(f"{FAULT_LABELS_VI.get(k, k)}: {n}" for k, n in sorted(f.complaints_by_fault.items()))
    complaints = ReportTable(
        heading="3. Khiếu nại và kết quả giải quyết",
        columns=("Chỉ tiêu", "Số lượng"),
        rows=(
            ("Khiếu nại tiếp nhận trong kỳ", vn_int(f.complaints_received)),
            ("Đã giải quyết", vn_int(f.complaints_resolved)),
            ("Giải quyết đúng hạn (5/7 ngày làm việc)", vn_int(f.complaints_resolved_on_time)),
            ("Đang giải quyết", vn_int(f.complaints_pending)),
            ("Kết quả theo lỗi", by_fault or "–"),
        ),
        widths=(3, 2),
        align=("left", "right"),
    )
    lost = ReportTable(
        heading="4. Bưu gửi bị mất, thất lạc, hư hỏng",
        columns=("Loại sự cố", "Số vụ"),
        rows=(
            *((d.INCIDENT_LABELS_VI[k], vn_int(f.incidents.get(k, 0))) for k in d.INCIDENT_KINDS),
            ("Tổng cộng", vn_int(sum(f.incidents.values()))),
        ),
        widths=(3, 2),
        align=("left", "right"),
    )
    compensation = ReportTable(
        heading="5. Bồi thường",
        columns=("Chỉ tiêu", "Giá trị"),
        rows=(
            ("Số vụ bồi thường", vn_int(f.compensation_cases)),
            ("Tổng số tiền bồi thường (đồng)", vn_int(f.compensation_vnd)),
            ("Trong đó đã chi trả (đồng)", vn_int(f.compensation_paid_vnd)),
        ),
        widths=(3, 2),
        align=("left", "right"),
    )
    safety = ReportTable(
        heading="6. Mức độ an toàn đạt được",
        columns=("Chỉ tiêu", "Giá trị"),
        rows=(
            ("Bưu gửi đã do bưu chính tiếp nhận", vn_int(f.items_in_custody)),
            ("Bưu gửi an toàn (không mất, hư hỏng, mất niêm phong)", vn_int(f.items_safe)),
            ("Tỷ lệ an toàn (chỉ tiêu 100 %)", vn_pct(f.safety_rate)),
            ("Tỷ lệ đúng hạn J+n", vn_pct(f.on_time_rate)),
        ),
        widths=(3, 2),
        align=("left", "right"),
    )
    label = d.PERIOD_LABELS_VI[p.period]
    when = f"{label} năm {p.year}" if p.period != "Y" else f"Năm {p.year}"
    return ReportContent(
        issuer=p.scope.label,
        title=PERIODIC_TITLE,
        subtitle=f"{when} (từ ngày {vn_date(p.start)} đến ngày {vn_date(p.end)})",
        reference=f"BC-TT17-{p.year}-{p.period}",
        generated_at=vn_time(p.generated_at),
        intro=(
            "Thực hiện Điều 13 Thông tư số 17/2017/TT-BTTTT về báo cáo tình hình cung ứng dịch vụ tiếp nhận hồ sơ, "
            "trả kết quả giải quyết thủ tục hành chính qua dịch vụ bưu chính công ích.",
            f"Phạm vi: {p.scope.label}. Hạn gửi báo cáo: trước ngày {vn_date(p.deadline)}.",
        ),
        tables=(catalogue, volume, complaints, lost, compensation, safety),
        notes=(
            "Sản lượng, doanh thu và mức an toàn tính theo bưu gửi đăng ký trong kỳ; khiếu nại và sự cố theo ngày mở.",
        ),
        landscape=False,
    )


def periodic_pdf(deps: Deps, p: PeriodicReport) -> bytes:
    return _renderer(deps).render_report(periodic_content(p))


# ----------------------------------------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class WeekPoint:
    week: date
    label: str
    volume: dict[str, int]
    total: int
    on_time_rate: float | None


@dataclass(frozen=True)
class Dashboard:
    start: date
    end: date
    scope: Scope
    generated_at: datetime
    weeks: list[WeekPoint]
    status_mix: list[tuple[str, str, int]]  # (status, Vietnamese label, count)
    total: Figures


def dashboard(deps: Deps, caller: Caller, *, start: date | None = None, end: date | None = None) -> Dashboard:
    """Twelve weeks up to today unless a range is given."""
    today = _today(deps)
    end = end or today
    start = start or (d.week_start(end) - timedelta(weeks=11))
    start, end = check_range(start, end)
    scope = scope_of(caller)
    facts = load_facts(deps, scope, start, end)
    weeks = [
        WeekPoint(w, f.label, dict(f.volume), f.total, f.on_time_rate)
        for w, f in d.weekly(facts.rows, start=start, end=end, today=today)
    ]
    _, total = d.aggregate(facts.rows, facts.incidents, facts.complaints, key=lambda x: ("*", ""), today=today)
    mix = [(s, STATUS_LABELS_VI[Status(s)], n) for s, n in d.status_mix(facts.rows)]
    return Dashboard(start, end, scope, deps.clock.now(), weeks, mix, total)


def kinds() -> Sequence[str]:
    return [k.value for k in Kind]


def dashboard_login(raw_key: str) -> str:
    """What the dashboard keeps in its signed session cookie: the key's SHA-256, never the key itself (a stolen
    cookie then opens the dashboard, not the API)."""
    from postal_bridge.services.agencies import hash_key

    return hash_key(raw_key)


def dashboard_caller(deps: Deps, key_hash: str | None) -> Caller:
    """The caller behind a dashboard session (a revoked key ends the session at the next page load)."""
    import hmac

    from postal_bridge.domain.errors import Unauthorized

    if not key_hash:
        raise Unauthorized("Sign in with an API key.")
    with deps.uow() as uow:
        key = uow.api_keys.by_hash(key_hash)
        if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, key_hash):
            raise Unauthorized("The API key is unknown or revoked.")
        agency = uow.agencies.get(key.agency_id)
        assert agency is not None
        return Caller(key=key, agency=agency)
