"""Handover sessions (bàn giao): open with the expected list, scan (``mode=handover``), view, confirm or cancel.

Confirming needs both sides: the clerk (by name) and a counter-staff member of the agency, authenticated by the web
layer on the clerk's device with their own credentials (an agency ``Caller``). It creates the Biên bản giao nhận
through the same code as ``POST /api/v1/handovers`` (``services/handovers.record_handover``), with both signatories
and the missing items, and moves every consignment on it, in one transaction. A confirmed session cannot change.
"""

from __future__ import annotations

from dataclasses import dataclass

from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.handover_sessions import (
    DIRECTION_LABELS_VI,
    HandoverSession,
    SessionState,
    Tally,
    movable_statuses,
    move_target,
    new_session_id,
    tally,
    why_not_movable,
)
from postal_bridge.domain.model import Handover, HandoverDirection
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.scans import ItemSummary
from postal_bridge.domain.text import nfc
from postal_bridge.services.clerk_scope import ClerkCaller, Summaries
from postal_bridge.services.deps import Deps
from postal_bridge.services.handovers import MAX_ITEMS, record_handover
from postal_bridge.services.labels import Printed, handover_content

MAX_NAME = 200
MAX_NOTE = 500


@dataclass(frozen=True)
class SessionLine:
    item: ItemSummary
    expected: bool
    scanned_at: str | None  # ISO time of the scan
    reason: str | None = None  # why it is excluded, or cannot be handed over now


@dataclass(frozen=True)
class SessionView:
    session: HandoverSession
    agency_code: str
    agency_name: str
    direction_label: str
    expected: tuple[SessionLine, ...]
    scanned: tuple[SessionLine, ...]
    missing: tuple[SessionLine, ...]
    extra: tuple[SessionLine, ...]
    excluded: tuple[SessionLine, ...]
    counts: dict[str, int]


def _direction(value: str) -> HandoverDirection:
    try:
        return HandoverDirection(value)
    except ValueError:
        raise ValidationFailed(
            {"direction": ["Chọn to_post (nhận từ cơ quan) hoặc to_agency (giao cho cơ quan)."]}
        ) from None


def open_session(deps: Deps, caller: ClerkCaller, *, direction: str, agency_code: str) -> HandoverSession:
    """Open a session (or return the one already open for this clerk, agency and direction)."""
    way = _direction(direction)
    code = nfc(agency_code or "").upper()
    now = deps.clock.now()
    for _ in range(2):
        with deps.uow() as uow:
            agency = uow.agencies.by_code(code) if code else None
            if agency is None:
                raise ValidationFailed({"agency_code": [f"Không có cơ quan mã {code!r}."]})
            existing = uow.handover_sessions.open_for(caller.user_id, agency.id, way)
            if existing is not None:
                return existing
            statuses = {kind.value: [s.value for s in sts] for kind, sts in movable_statuses(way).items()}
            expected = uow.clerk_scope.ids_in_status(
                caller.post_office_code, statuses, agency_id=agency.id, limit=MAX_ITEMS
            )
            session = HandoverSession(
                id=new_session_id(now),
                post_office_code=caller.post_office_code,
                user_id=caller.user_id,
                opened_by=caller.actor,
                agency_id=agency.id,
                direction=way,
                opened_at=now,
            )
            try:
                uow.handover_sessions.add(session, expected)
            except Conflict:  # opened at the same moment by another request: take that one
                continue
            _audit(
                uow,
                caller,
                session,
                "handover_session.opened",
                {"state": None},
                {"state": "open", "expected": expected},
                now,
            )
            uow.commit()
            return session
    with deps.uow() as uow:
        again = uow.handover_sessions.open_for(caller.user_id, agency.id, way)
    if again is None:
        raise Conflict("Chưa mở được phiên bàn giao; hãy thử lại.")
    return again


def _own(uow: UnitOfWork, caller: ClerkCaller, session_id: str) -> HandoverSession:
    session = uow.handover_sessions.get(session_id) if isinstance(session_id, str) and session_id else None
    if session is None or session.user_id != caller.user_id:
        raise NotFound("Không tìm thấy phiên bàn giao này.")
    return session


def session_view(deps: Deps, caller: ClerkCaller, session_id: str) -> SessionView:
    with deps.uow() as uow:
        session = _own(uow, caller, session_id)
        return _view(uow, session)


def _view(uow: UnitOfWork, session: HandoverSession) -> SessionView:
    items = uow.handover_sessions.items(session.id)
    found = uow.consignments.get_many([i.consignment_id for i in items])
    summaries = Summaries(uow)
    agency = summaries.agency(session.agency_id)
    # An accepted item whose status changed since it was scanned cannot be handed over any more: say why.
    now_blocked = {
        i.consignment_id: why_not_movable(session.direction, c.kind, c.status)
        for i in items
        if i.scanned and i.excluded_reason is None
        for c in [found[i.consignment_id]]
        if session.is_open and move_target(session.direction, c.kind, c.status) is None
    }
    t: Tally = tally(items)
    by_id = {i.consignment_id: i for i in items}

    def line(cid: str, reason: str | None = None) -> SessionLine:
        item = by_id[cid]
        return SessionLine(
            item=summaries.of(found[cid]),
            expected=item.expected,
            scanned_at=item.scanned_at.isoformat() if item.scanned_at else None,
            reason=reason or now_blocked.get(cid),
        )

    return SessionView(
        session=session,
        agency_code=agency.code if agency else "",
        agency_name=agency.name if agency else "",
        direction_label=DIRECTION_LABELS_VI[session.direction],
        expected=tuple(line(cid) for cid in t.expected),
        scanned=tuple(line(cid) for cid in t.scanned),
        missing=tuple(line(cid) for cid in t.missing),
        extra=tuple(line(cid) for cid in t.extra),
        excluded=tuple(line(cid, reason) for cid, reason in t.excluded),
        counts={**t.counts, "blocked": len(now_blocked)},
    )


def open_sessions(deps: Deps, caller: ClerkCaller) -> list[SessionView]:
    """The clerk's open sessions, oldest first, each with its counts."""
    with deps.uow() as uow:
        return [_view(uow, s) for s in uow.handover_sessions.open_of_user(caller.user_id)]


def _actor_of(rep: object) -> str:
    """The agency side's actor: ``Caller.actor`` when it has one, else derived from its user or API key."""
    actor = getattr(rep, "actor", None)
    if isinstance(actor, str) and actor:
        return actor
    user = getattr(rep, "user", None)
    if user is not None and getattr(user, "username", None):
        return f"user:{user.username}"
    key = getattr(rep, "key", None)
    if key is not None and getattr(key, "key_prefix", None):
        return f"api_key:{key.key_prefix}"
    raise ValidationFailed({"agency_rep": ["Người đại diện cơ quan phải đăng nhập để xác nhận."]})


def _name(value: object, field: str, errors: dict[str, list[str]]) -> str:
    text = nfc(value) if isinstance(value, str) else ""
    if not text:
        errors[field] = ["Bắt buộc: họ tên đầy đủ của người ký."]
    elif len(text) > MAX_NAME:
        errors[field] = [f"Tối đa {MAX_NAME} ký tự."]
    return text


def confirm_session(
    deps: Deps,
    caller: ClerkCaller,
    session_id: str,
    *,
    agency_rep,
    clerk_name: str,
    agency_rep_name: str,
    note: str = "",
) -> Handover:
    """Both sides confirm: the Biên bản is created and every scanned item moves, in one transaction.

    ``agency_rep`` is the agency's counter staff (``services.agencies.Caller``) signed in on the clerk's device.
    Confirming a session already confirmed returns its record (a retried request); a cancelled one is refused.
    """
    errors: dict[str, list[str]] = {}
    clerk = _name(clerk_name, "clerk_name", errors)
    rep_name = _name(agency_rep_name, "agency_rep_name", errors)
    remark = nfc(note) if isinstance(note, str) else ""
    if len(remark) > MAX_NOTE:
        errors["note"] = [f"Tối đa {MAX_NOTE} ký tự."]
    rep_agency = getattr(agency_rep, "agency", None)
    rep_actor = _actor_of(agency_rep)
    if errors:
        raise ValidationFailed(errors)
    now = deps.clock.now()
    with deps.uow() as uow:
        session = _own(uow, caller, session_id)
        if session.state == SessionState.CONFIRMED:
            assert session.handover_id is not None
            existing = uow.handovers.get(session.handover_id, agency_id=session.agency_id)
            assert existing is not None
            return existing
        if session.state == SessionState.CANCELLED:
            raise Conflict("Phiên bàn giao này đã hủy; hãy mở phiên mới.")
        if rep_agency is None or getattr(rep_agency, "id", None) != session.agency_id:
            raise ValidationFailed(
                {"agency_rep": ["Người xác nhận phải là cán bộ của cơ quan trong phiên bàn giao này."]}
            )
        items = uow.handover_sessions.items(session.id)
        t = tally(items)
        if not t.to_hand_over:
            raise ValidationFailed({"session_id": ["Chưa quét bưu gửi nào; hãy quét các bưu gửi bàn giao trước."]})
        found = uow.consignments.get_many(list(t.to_hand_over))
        before = {cid: found[cid].status.value for cid in t.to_hand_over if cid in found}
        agency = uow.agencies.get(session.agency_id)
        location = agency.name if agency else ""
        try:
            handover, wake = record_handover(
                uow,
                deps,
                agency_id=session.agency_id,
                actor=caller.actor,
                direction=session.direction,
                consignment_ids=list(t.to_hand_over),
                place=location,
                now=now,
                post_signatory=clerk,
                agency_signatory=rep_name,
                agency_confirmed_by=rep_actor,
                missing_ids=list(t.missing),
                note=remark,
                session_id=session.id,
                location=location,
            )
        except ValidationFailed as exc:  # an item changed since it was scanned: name it by its code
            problems = exc.errors.get("consignment_ids", {})
            messages = [
                f"{found[t.to_hand_over[int(i)]].tracking_code or t.to_hand_over[int(i)]}: {' '.join(m)}"
                for i, m in problems.items()  # type: ignore[union-attr]
            ]
            raise ValidationFailed(
                {"session_id": [*messages, "Hãy hủy phiên này và mở phiên mới để bàn giao các bưu gửi còn lại."]}
            ) from None
        if not uow.handover_sessions.close(session.id, state=SessionState.CONFIRMED, at=now, handover_id=handover.id):
            raise Conflict("Phiên bàn giao vừa được đóng ở nơi khác; hãy tải lại.")
        after = {
            cid: (move_target(session.direction, found[cid].kind, found[cid].status) or found[cid].status).value
            for cid in before
        }
        _audit(
            uow,
            caller,
            session,
            "handover_session.confirmed",
            {"state": "open", "statuses": before},
            {
                "state": "confirmed",
                "handover_id": handover.id,
                "statuses": after,
                "missing": list(t.missing),
                "agency_confirmed_by": rep_actor,
            },
            now,
        )
        uow.commit()
    deps.wake(wake)
    return handover


def cancel_session(deps: Deps, caller: ClerkCaller, session_id: str) -> HandoverSession:
    """Close an open session without a record; nothing moves. A confirmed session cannot be cancelled."""
    now = deps.clock.now()
    with deps.uow() as uow:
        session = _own(uow, caller, session_id)
        if session.state == SessionState.CANCELLED:
            return session
        if session.state == SessionState.CONFIRMED:
            raise Conflict("Phiên bàn giao đã xác nhận; biên bản không thể thay đổi.")
        if not uow.handover_sessions.close(session.id, state=SessionState.CANCELLED, at=now, handover_id=None):
            raise Conflict("Phiên bàn giao vừa được đóng ở nơi khác; hãy tải lại.")
        _audit(uow, caller, session, "handover_session.cancelled", {"state": "open"}, {"state": "cancelled"}, now)
        uow.commit()
        closed = uow.handover_sessions.get(session.id)
    assert closed is not None
    return closed


def session_pdf(deps: Deps, caller: ClerkCaller, session_id: str) -> Printed:
    """The Biên bản giao nhận of a confirmed session, for the clerk who held it (the same PDF as
    ``GET /api/v1/handovers/<id>.pdf``). An open or cancelled session has no record yet: ``Conflict``."""
    with deps.uow() as uow:
        session = _own(uow, caller, session_id)
        if session.state != SessionState.CONFIRMED or session.handover_id is None:
            raise Conflict("Phiên bàn giao chưa được hai bên xác nhận; chưa có biên bản để in.")
        handover = uow.handovers.get(session.handover_id, agency_id=session.agency_id)
        assert handover is not None
        content = handover_content(uow, deps, handover)
    return Printed(deps.labels.render_handover(content), "application/pdf", f"bien-ban-{handover.id}.pdf")


def _audit(
    uow: UnitOfWork,
    caller: ClerkCaller,
    session: HandoverSession,
    action: str,
    before: dict,
    after: dict,
    now,
) -> None:
    uow.audit.record(
        AuditEntry(
            at=now,
            actor=caller.actor,
            action=action,
            subject=f"handover_session:{session.id}",
            details={
                "before": before,
                "after": after,
                "agency_id": session.agency_id,
                "direction": session.direction.value,
                "post_office_code": session.post_office_code,
            },
        )
    )


__all__ = [
    "SessionLine",
    "SessionView",
    "cancel_session",
    "confirm_session",
    "open_session",
    "open_sessions",
    "session_pdf",
    "session_view",
]
