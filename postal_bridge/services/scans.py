"""Clerks' scans, uploaded in batches (the scan page posts each scan; the offline queue posts what it kept).

``ingest_scans`` is idempotent by ``client_event_id``: an event uploaded again (an offline queue retried after a lost
response) gets its first result back and changes nothing more. A batch (up to 500) is one transaction; a bad scan is a
result, never an exception that loses the others. Within a batch scans are applied in the order they were made (the
device's ``scanned_at``), and a scan older than the item's last change is stored but never applied, so offline scans
can never move an item backwards.

The batch is loaded in a fixed number of queries whatever its size: stored events, the codes (one query against the
office's scope), the consignments with their events, the handover sessions and the day's earlier scans; the scans
and audit entries are inserted in bulk. Each item a scan moves is saved once, with its callbacks queued through the
outbox (``record_effects``) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from postal_bridge.domain.consignment import Consignment, Source
from postal_bridge.domain.errors import Conflict, ValidationFailed
from postal_bridge.domain.handover_sessions import HandoverSession, SessionItem, move_target, why_not_movable
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.scans import (
    ACCEPTED_MESSAGES_VI,
    KIND_LABELS_VI,
    MAX_BATCH,
    MODE_LABELS_VI,
    MODE_TARGET,
    CodeError,
    ItemRow,
    ParsedCode,
    ScanInput,
    ScanMode,
    ScanOutcome,
    ScanResult,
    StoredScan,
    canonical_event_id,
    decide,
    label,
    parse_code,
    scan_problem,
)
from postal_bridge.domain.sla import TZ, local_date
from postal_bridge.domain.status import STATUS_LABELS_VI, Kind, Status
from postal_bridge.domain.worklist import next_actions
from postal_bridge.services.citizen_contacts import record_postman_contact
from postal_bridge.services.clerk_scope import ClerkCaller, Summaries, office_name
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import record_effects_many
from postal_bridge.services.geography import set_deadline

ATTEMPTS = 3  # a concurrent upload of the same events makes ours retry, and then replay what it stored
UNKNOWN_MESSAGE = "Không tìm thấy bưu gửi này ở bưu cục của bạn."


def ingest_scans(deps: Deps, caller: ClerkCaller, scans: Sequence[ScanInput]) -> list[ScanResult]:
    """Apply a batch of scans; one result per scan, in the order given."""
    if len(scans) > MAX_BATCH:
        raise ValidationFailed({"scans": [f"Tối đa {MAX_BATCH} lần quét mỗi lần gửi."]})
    if not scans:
        return []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            results, wake = _ingest(deps, caller, list(scans))
            break
        except Conflict:  # the same events, or one of the items, were written meanwhile: start again from the DB
            if attempt == ATTEMPTS:
                raise
    deps.wake(wake)
    return results


@dataclass
class _Work:
    """One upload being processed inside its transaction."""

    uow: UnitOfWork
    deps: Deps
    caller: ClerkCaller
    location: str
    now: datetime
    consignments: dict[str, Consignment] = field(default_factory=dict)  # loaded whole: the items a scan may move
    rows: dict[str, ItemRow] = field(default_factory=dict)  # the others: looked up, counted in a session, replayed
    sessions: dict[str, HandoverSession] = field(default_factory=dict)
    session_items: dict[str, dict[str, SessionItem]] = field(default_factory=dict)
    seen: dict[tuple[date, str, str, str | None], datetime] = field(default_factory=dict)
    touched: dict[str, Consignment] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    actions: dict[tuple[Kind, Status], tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def clerk_phone(self) -> str | None:
        """The clerk's own phone (their account's), read once per upload."""
        user = self.uow.users.get(self.caller.user_id)
        return user.phone if user is not None else None

    def view(self, consignment_id: str) -> ItemRow:
        c = self.consignments.get(consignment_id)
        return ItemRow.of(c) if c is not None else self.rows[consignment_id]

    def status(self, consignment_id: str) -> str:
        """The item's status now (what ``view`` would say, without building the view)."""
        c = self.consignments.get(consignment_id)
        return (c.status if c is not None else self.rows[consignment_id].status).value

    def next_actions(self, kind: Kind, status: Status) -> tuple[str, ...]:
        """``worklist.next_actions`` as values, worked out once per kind and status in an upload."""
        key = (kind, status)
        if key not in self.actions:
            self.actions[key] = tuple(a.value for a in next_actions(kind, status))
        return self.actions[key]


def _ingest(deps: Deps, caller: ClerkCaller, scans: list[ScanInput]) -> tuple[list[ScanResult], list[int]]:
    now = deps.clock.now()
    event_ids = [canonical_event_id(s.client_event_id) for s in scans]
    results: list[ScanResult | None] = [None] * len(scans)
    with deps.uow() as uow:
        work = _Work(uow, deps, caller, office_name(uow, caller.post_office_code), now)
        stored = uow.scans.by_event_ids(caller.user_id, [e for e in event_ids if e])
        fresh: dict[str, int] = {}  # event id → index of its first occurrence in this upload
        for i, (scan, eid) in enumerate(zip(scans, event_ids, strict=True)):
            if eid is None:
                results[i] = ScanResult(
                    client_event_id=str(scan.client_event_id)[:64],
                    outcome=ScanOutcome.INVALID,
                    message="Thiếu mã sự kiện hợp lệ (client_event_id phải là UUID); lần quét không được lưu.",
                )
            elif eid not in stored and eid not in fresh:
                fresh[eid] = i

        # Shape and code of every new scan; then every code of the batch against the office's scope, at once.
        early: dict[int, tuple[ScanOutcome, str]] = {}
        parsed: dict[int, ParsedCode] = {}
        for i in fresh.values():
            problem = scan_problem(scans[i], now=now)
            if problem:
                early[i] = problem
                continue
            try:
                parsed[i] = parse_code(scans[i].code)
            except CodeError as exc:
                early[i] = (ScanOutcome.INVALID_CODE, str(exc))
        found = uow.clerk_scope.find(
            caller.post_office_code,
            codes=[f for p in parsed.values() if p.kind != "token" for f in p.forms],
            tokens=[p.value for p in parsed.values() if p.kind == "token"],
        )
        target_of: dict[int, str] = {}
        for i, p in parsed.items():
            keys = ["token:" + p.value] if p.kind == "token" else list(p.forms)
            cid = next((found[k] for k in keys if k in found), None)
            if cid is None:
                early[i] = (ScanOutcome.UNKNOWN, UNKNOWN_MESSAGE)
            else:
                target_of[i] = cid
        # Whole aggregates only for the items a scan may move; a few columns for the rest.
        replay_ids = [s.consignment_id for s in stored.values() if s.consignment_id]
        work.consignments = uow.consignments.get_many(
            [cid for i, cid in target_of.items() if ScanMode(scans[i].mode) in MODE_TARGET]
        )
        work.rows = uow.clerk_scope.rows(
            [cid for cid in [*target_of.values(), *replay_ids] if cid not in work.consignments]
        )
        _load_sessions(work, [scans[i].session_id for i in target_of if ScanMode(scans[i].mode) == ScanMode.HANDOVER])
        _load_seen(work, [(local_date(scans[i].scanned_at), cid) for i, cid in target_of.items()])

        rows: list[StoredScan] = []
        for i, (outcome, message) in early.items():
            rows.append(_row(work, scans[i], event_ids[i], parsed.get(i), None, outcome, message, None, None))
        for i in sorted(target_of, key=lambda i: (scans[i].scanned_at, i)):  # in the order the scans were made
            cid = target_of[i]
            before = work.status(cid)
            outcome, message = _apply(work, scans[i], event_ids[i], cid)
            after = work.status(cid)
            rows.append(_row(work, scans[i], event_ids[i], parsed[i], cid, outcome, message, before, after))

        uow.consignments.save_many(list(work.touched.values()))
        wake = record_effects_many(uow, list(work.touched.values()), now=now, deps=deps)
        uow.audit.record_many(work.audit)
        uow.scans.add_many(rows)

        summaries = Summaries(uow)
        answers = {r.client_event_id: r for r in [*stored.values(), *rows]}
        for i, eid in enumerate(event_ids):
            if results[i] is None:
                assert eid is not None
                results[i] = _result(answers[eid], work, summaries)
        uow.commit()
    return [r for r in results if r is not None], wake


def _load_sessions(work: _Work, session_ids: list[str | None]) -> None:
    ids = [s for s in dict.fromkeys(session_ids) if s]
    if not ids:
        return
    work.sessions = work.uow.handover_sessions.get_many(ids)
    work.session_items = {
        sid: {item.consignment_id: item for item in items}
        for sid, items in work.uow.handover_sessions.items_many(list(work.sessions)).items()
    }


def _load_seen(work: _Work, day_items: list[tuple[date, str]]) -> None:
    """Earlier scans the same day (the device's day) of the same items at this office: the duplicates."""
    by_day: dict[date, list[str]] = {}
    for day, cid in day_items:
        by_day.setdefault(day, []).append(cid)
    for day, cids in by_day.items():
        for (cid, mode, session_id), at in work.uow.scans.seen_today(work.caller.post_office_code, cids, day).items():
            work.seen[(day, cid, mode, session_id)] = at


def _apply(work: _Work, scan: ScanInput, event_id: str | None, consignment_id: str) -> tuple[ScanOutcome, str]:
    mode = ScanMode(scan.mode)
    if mode == ScanMode.LOOKUP:
        view = work.view(consignment_id)
        return ScanOutcome.ACCEPTED, f"{KIND_LABELS_VI[view.kind]}: {STATUS_LABELS_VI[view.status]}."
    if mode == ScanMode.HANDOVER:  # the session's own items say what was scanned in it
        return _session_scan(work, scan, work.view(consignment_id))
    c = work.consignments[consignment_id]
    key = (local_date(scan.scanned_at), c.id, mode.value, None)
    if key in work.seen:
        return ScanOutcome.DUPLICATE, _duplicate_message(mode, work.seen[key])
    outcome, message = _move(work, scan, event_id, c, mode)
    if outcome in (ScanOutcome.ACCEPTED, ScanOutcome.ALREADY_APPLIED):
        work.seen.setdefault(key, scan.scanned_at)
    return outcome, message


def _duplicate_message(mode: ScanMode, at: datetime) -> str:
    where = "trong phiên bàn giao này" if mode == ScanMode.HANDOVER else f"ở chế độ '{MODE_LABELS_VI[mode]}'"
    return f"Mã này đã được quét {where} lúc {at.astimezone(TZ):%H:%M} hôm nay."


def _move(
    work: _Work, scan: ScanInput, event_id: str | None, c: Consignment, mode: ScanMode
) -> tuple[ScanOutcome, str]:
    decision = decide(mode, c.kind, c.status)
    if decision.outcome != ScanOutcome.ACCEPTED or decision.target is None:
        return decision.outcome, decision.reason
    last = c.events[-1].occurred_at if c.events else c.created_at
    if scan.scanned_at < last:
        return (
            ScanOutcome.NOT_ALLOWED,
            f"Lần quét lúc {scan.scanned_at.astimezone(TZ):%H:%M %d/%m} cũ hơn thay đổi gần nhất của bưu gửi "
            f"({last.astimezone(TZ):%H:%M %d/%m}); đã lưu, không áp dụng.",
        )
    before = c.status
    c.transition(
        decision.target,
        occurred_at=scan.scanned_at,
        source=Source.SCAN,
        actor=work.caller.actor,
        location=work.location,
        description=MODE_LABELS_VI[mode],
    )
    if decision.target == Status.PICKED_UP:  # the post took custody: J is the day of the scan
        set_deadline(work.deps, c, scan.scanned_at)
    if decision.target == Status.OUT_FOR_DELIVERY:  # the citizen may call this clerk on the day
        record_postman_contact(work.uow, c.id, work.clerk_phone, at=scan.scanned_at, source="scan")
    work.touched[c.id] = c
    work.audit.append(
        AuditEntry(
            at=work.now,
            actor=work.caller.actor,
            action=f"scan.{mode.value}",
            subject=f"consignment:{c.id}",
            details={
                "before": {"status": before.value},
                "after": {"status": c.status.value},
                "client_event_id": event_id,
                "scanned_at": scan.scanned_at.isoformat(),
                "post_office_code": work.caller.post_office_code,
            },
        )
    )
    return ScanOutcome.ACCEPTED, ACCEPTED_MESSAGES_VI[mode]


def _session_scan(work: _Work, scan: ScanInput, c: ItemRow) -> tuple[ScanOutcome, str]:
    session = work.sessions.get(scan.session_id or "")
    if session is None or session.user_id != work.caller.user_id:
        return ScanOutcome.NOT_ALLOWED, "Không tìm thấy phiên bàn giao này."
    if not session.is_open:
        return ScanOutcome.NOT_ALLOWED, "Phiên bàn giao đã kết thúc (đã xác nhận hoặc đã hủy); không quét thêm được."
    if c.agency_id != session.agency_id:
        return ScanOutcome.NOT_ALLOWED, "Bưu gửi của cơ quan khác; không đưa vào biên bản này."
    items = work.session_items.setdefault(session.id, {})
    item = items.get(c.id)
    if item is not None and item.scanned:
        assert item.scanned_at is not None
        return ScanOutcome.DUPLICATE, _duplicate_message(ScanMode.HANDOVER, item.scanned_at)
    reason = (
        None
        if move_target(session.direction, c.kind, c.status)
        else why_not_movable(session.direction, c.kind, c.status)
    )
    at = scan.scanned_at
    repo = work.uow.handover_sessions
    if item is not None:
        repo.mark_scanned(session.id, c.id, at=at, excluded_reason=reason)
        items[c.id] = SessionItem(c.id, item.seq, True, at, reason)
        if reason:
            return ScanOutcome.NOT_ALLOWED, f"{reason} Không đưa vào biên bản."
        return ScanOutcome.ACCEPTED, "Có trong danh sách bàn giao."
    seq = max((i.seq for i in items.values()), default=0) + 1
    repo.add_extra(session.id, c.id, seq=seq, at=at, excluded_reason=reason)
    items[c.id] = SessionItem(c.id, seq, False, at, reason)
    if reason:
        return ScanOutcome.NOT_ALLOWED, f"Ngoài danh sách: {reason} Không đưa vào biên bản."
    return ScanOutcome.ACCEPTED, "Ngoài danh sách, đã thêm vào biên bản."


def _row(
    work: _Work,
    scan: ScanInput,
    event_id: str | None,
    parsed: ParsedCode | None,
    consignment_id: str | None,
    outcome: ScanOutcome,
    message: str,
    before: str | None,
    after: str | None,
) -> StoredScan:
    assert event_id is not None
    aware = isinstance(scan.scanned_at, datetime) and scan.scanned_at.utcoffset() is not None
    mode = str(scan.mode.value if isinstance(scan.mode, ScanMode) else scan.mode)
    return StoredScan(
        client_event_id=event_id,
        user_id=work.caller.user_id,
        post_office_code=work.caller.post_office_code,
        actor=work.caller.actor,
        mode=mode[:20],
        session_id=(scan.session_id or None) and str(scan.session_id)[:40],
        code=parsed.value if parsed else str(scan.code or "")[:64],
        consignment_id=consignment_id,
        scanned_at=scan.scanned_at if aware else None,
        scanned_on=local_date(scan.scanned_at) if aware else None,
        received_at=work.now,
        outcome=outcome,
        message=message,
        status_before=before,
        status_after=after,
        applied=before != after,
    )


def _result(s: StoredScan, work: _Work, summaries: Summaries) -> ScanResult:
    c = work.view(s.consignment_id) if s.consignment_id else None
    return ScanResult(
        client_event_id=s.client_event_id,
        outcome=s.outcome,
        message=s.message,
        code=(c.tracking_code or s.code) if c else s.code,
        item=summaries.of(c, work.next_actions(c.kind, c.status)) if c else None,
        status_before=s.status_before,
        status_after=s.status_after,
        status_before_label=label(s.status_before),
        status_after_label=label(s.status_after),
    )


def lookup(deps: Deps, caller: ClerkCaller, code: str) -> ScanResult:
    """What a code is for this clerk's office and what can be done next with it; nothing is stored."""
    try:
        parsed = parse_code(code)
    except CodeError as exc:
        return ScanResult(client_event_id="", outcome=ScanOutcome.INVALID_CODE, message=str(exc))
    with deps.reader() as uow:
        tokens = [parsed.value] if parsed.kind == "token" else []
        found = uow.clerk_scope.find(caller.post_office_code, codes=[] if tokens else list(parsed.forms), tokens=tokens)
        keys = ["token:" + parsed.value] if tokens else list(parsed.forms)
        cid = next((found[k] for k in keys if k in found), None)
        c = uow.consignments.get(cid) if cid else None
        if c is None:
            return ScanResult(
                client_event_id="", outcome=ScanOutcome.UNKNOWN, message=UNKNOWN_MESSAGE, code=parsed.value
            )
        actions = tuple(a.value for a in next_actions(c.kind, c.status))
        return ScanResult(
            client_event_id="",
            outcome=ScanOutcome.ACCEPTED,
            message=f"{KIND_LABELS_VI[c.kind]}: {STATUS_LABELS_VI[c.status]}.",
            code=c.tracking_code or parsed.value,
            item=Summaries(uow).of(c, actions),
            status_before=c.status.value,
            status_after=c.status.value,
            status_before_label=STATUS_LABELS_VI[c.status],
            status_after_label=STATUS_LABELS_VI[c.status],
        )
