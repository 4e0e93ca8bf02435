"""Delivery outcomes recorded by a clerk: delivered (with the ID check), failed (a legal reason), back to the agency.

Each command is idempotent by ``client_event_id`` (the clerk's device makes one per tap, and may send it again from
its offline queue): the same event returns its first result and changes nothing more. Each moves the consignment with
``Source.SCAN`` at the time the clerk gave (default: now), stores a row in ``delivery_proofs`` — the delivery proof,
the failed-attempt record TTLT 18/2015 Art 3 asks for, or the start of the return — queues the callbacks through the
outbox and writes an audit entry with the status before and after, all in one transaction.

Only an ID's type and last 4 characters are stored. Names of receivers and refusers are personal data: they stay in
``delivery_proofs`` (erased with the rest when retention ends), never in event descriptions, audit details or logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.consignment import Consignment, Source
from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.outcomes import (
    DELIVERABLE,
    FAILURE_REASONS,
    MIN_INVITATIONS,
    RECEIVER_LABELS_VI,
    RETURN_REASON_LABELS_VI,
    RETURNABLE,
    DeliveryProof,
    FailureReason,
    IdCheck,
    IdType,
    Outcome,
    Receiver,
    ReturnReason,
    check_citizen_id,
    failed_attempts,
    id_last_digits,
    reasons_for,
)
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.scans import MAX_CLOCK_AHEAD, ItemSummary, canonical_event_id, label
from postal_bridge.domain.sla import invitation_overdue, local_date
from postal_bridge.domain.status import STATUS_LABELS_VI, Kind, Status
from postal_bridge.domain.text import nfc
from postal_bridge.domain.worklist import next_actions
from postal_bridge.services.clerk_scope import ClerkCaller, Summaries, office_name, visible_consignment
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import record_effects

ATTEMPTS = 3
MAX_NAME = 200
MAX_REF = 100
MAX_NOTE = 500
WEEKENDS_ONLY = WorkingCalendar(holidays=frozenset())


@dataclass(frozen=True)
class OutcomeResult:
    client_event_id: str
    outcome: str  # delivered | failed | returned_to_agency
    message: str  # Vietnamese, for the clerk
    item: ItemSummary
    status_before: str
    status_after: str
    status_before_label: str
    status_after_label: str
    attempt: int | None = None  # failed attempts so far (the deadline monitor counts invitations from them)
    reason: str | None = None
    reason_label: str | None = None
    proof_id: int | None = None


@dataclass
class _Plan:
    """What one outcome does: the statuses to pass through (each with its description) and the proof to store."""

    steps: list[tuple[Status, str]]
    proof: DeliveryProof


Planner = Callable[[Consignment, datetime], _Plan]


def record_delivered(
    deps: Deps,
    caller: ClerkCaller,
    consignment_id: str,
    *,
    receiver: str,
    id_type: str,
    id_last_digits: str,
    receiver_name: str | None = None,
    authorisation_ref: str | None = None,
    occurred_at: datetime | None = None,
    client_event_id: str,
) -> OutcomeResult:
    """The result was handed over after the ID check (TT 17/2017 Art 5.2.d).

    ``receiver=citizen``: the citizen in person; when the consignment knows the citizen's ID, the same kind of document
    must end in the same 4 characters. ``receiver=authorised``: a person with the citizen's written authorisation; their
    name and the authorisation's reference are required. For a citizen the name and reference are not stored.
    """
    errors: dict[str, list[str]] = {}
    who = _enum(Receiver, receiver, "receiver", errors)
    kind = _enum(IdType, id_type, "id_type", errors)
    last4 = _last4(kind, id_last_digits, "id_last_digits", errors)
    name = ref = None
    if who == Receiver.AUTHORISED:
        name = _text(receiver_name, "receiver_name", MAX_NAME, errors, "Họ tên người được ủy quyền là bắt buộc.")
        ref = _text(authorisation_ref, "authorisation_ref", MAX_REF, errors, "Số / ngày của giấy ủy quyền là bắt buộc.")
    if errors:
        raise ValidationFailed(errors)
    assert who is not None and kind is not None and last4 is not None

    def plan(c: Consignment, at: datetime) -> _Plan:
        if c.kind != Kind.RETURN:
            raise Conflict(
                "Chỉ ghi phát thành công cho bưu gửi trả kết quả; hồ sơ được giao cho cơ quan bằng phiên bàn giao."
            )
        if c.status not in DELIVERABLE:
            raise Conflict(
                f"Bưu gửi đang ở trạng thái '{STATUS_LABELS_VI[c.status]}'; chỉ ghi phát thành công khi đang đi phát, "
                "sau lần phát không thành công hoặc khi công dân đến nhận tại bưu cục."
            )
        check = IdCheck.NOT_APPLICABLE
        if who == Receiver.CITIZEN:
            try:
                check = check_citizen_id(c.citizen_id_type, c.citizen_id_last4, kind, last4)
            except ValueError as exc:
                raise ValidationFailed({"id_last_digits": [str(exc)]}) from None
        proof = _proof(caller, c, at, Outcome.DELIVERED)
        proof.receiver, proof.receiver_name, proof.authorisation_ref = who.value, name, ref
        proof.id_type, proof.id_last4, proof.id_check = kind.value, last4, check.value
        return _Plan([(Status.DELIVERED, f"Phát thành công – người nhận: {RECEIVER_LABELS_VI[who].lower()}")], proof)

    return _record(deps, caller, consignment_id, client_event_id, occurred_at, plan)


def record_failed(
    deps: Deps,
    caller: ClerkCaller,
    consignment_id: str,
    *,
    reason: str,
    note: str = "",
    occurred_at: datetime | None = None,
    client_event_id: str,
    refuser_name: str | None = None,
    refuser_id_type: str | None = None,
    refuser_id_last_digits: str | None = None,
) -> OutcomeResult:
    """An attempt failed, for one of the legal reasons (``domain.outcomes.FAILURE_REASONS``).

    A return becomes ``delivery_failed`` (the attempt number is stored); a refusal also starts the return to the agency
    (``returning_to_agency``) and needs the refuser's name, ID type and last digits (TTLT 18/2015 Art 3). A pickup
    becomes ``pickup_failed``: documents incomplete means the citizen was guided and the clerk comes again. An attempt
    on an item already failed implies the clerk went out again (``out_for_delivery``, or the visit rescheduled).
    """
    errors: dict[str, list[str]] = {}
    why = _enum(FailureReason, reason, "reason", errors)
    remark = _note(note, errors)
    refuser = (None, None, None)
    if why == FailureReason.RECIPIENT_REFUSED:
        refuser_kind = _enum(IdType, refuser_id_type, "refuser_id_type", errors)
        refuser = (
            _text(refuser_name, "refuser_name", MAX_NAME, errors, "Họ tên người từ chối nhận là bắt buộc."),
            refuser_kind.value if refuser_kind else None,
            _last4(refuser_kind, refuser_id_last_digits, "refuser_id_last_digits", errors),
        )
    if errors:
        raise ValidationFailed(errors)
    assert why is not None
    info = FAILURE_REASONS[why]

    def plan(c: Consignment, at: datetime) -> _Plan:
        if c.kind not in info.applies_to:
            allowed = ", ".join(r.code for r in reasons_for(c.kind)) or "none"
            raise ValidationFailed({"reason": [f"Lý do này không áp dụng cho loại bưu gửi này; chọn: {allowed}."]})
        steps: list[tuple[Status, str]]
        if c.kind == Kind.PICKUP and c.status == Status.BOOKED:
            steps = [(Status.PICKUP_FAILED, info.label)]
        elif c.kind == Kind.PICKUP and c.status == Status.PICKUP_FAILED:
            steps = [(Status.BOOKED, "Hẹn lại lần nhận hồ sơ"), (Status.PICKUP_FAILED, info.label)]
        elif c.kind == Kind.RETURN and c.status == Status.OUT_FOR_DELIVERY:
            steps = [(Status.DELIVERY_FAILED, info.label)]
        elif c.kind == Kind.RETURN and c.status == Status.DELIVERY_FAILED:
            steps = [(Status.OUT_FOR_DELIVERY, "Đi phát lại"), (Status.DELIVERY_FAILED, info.label)]
        else:
            raise Conflict(
                f"Bưu gửi đang ở trạng thái '{STATUS_LABELS_VI[c.status]}'; không ghi được lần phát / nhận không "
                "thành công (quét 'Đi phát' trước)."
            )
        if why == FailureReason.RECIPIENT_REFUSED:
            steps.append((Status.RETURNING_TO_AGENCY, f"Chuyển hoàn: {info.label.lower()}"))
        proof = _proof(caller, c, at, Outcome.FAILED)
        proof.reason, proof.note = why.value, remark
        proof.refuser_name, proof.refuser_id_type, proof.refuser_id_last4 = refuser
        return _Plan(steps, proof)

    return _record(deps, caller, consignment_id, client_event_id, occurred_at, plan, count_attempt=True)


def record_returned_to_agency(
    deps: Deps,
    caller: ClerkCaller,
    consignment_id: str,
    *,
    reason: str,
    client_event_id: str,
    note: str = "",
    occurred_at: datetime | None = None,
) -> OutcomeResult:
    """The result starts back to its agency (``returning_to_agency``); the ``to_agency`` handover ends it.

    ``invitations_exhausted`` needs the invitations done: at least two failed attempts, or the deadline monitor's
    invitation period over (TT 17/2017 Art 5.2.h).
    """
    errors: dict[str, list[str]] = {}
    why = _enum(ReturnReason, reason, "reason", errors)
    remark = _note(note, errors)
    if errors:
        raise ValidationFailed(errors)
    assert why is not None
    calendar = deps.calendar or WEEKENDS_ONLY

    def plan(c: Consignment, at: datetime) -> _Plan:
        if c.kind != Kind.RETURN or c.status not in RETURNABLE:
            raise Conflict(
                f"Bưu gửi đang ở trạng thái '{STATUS_LABELS_VI[c.status]}'; chỉ chuyển hoàn kết quả bưu điện đang giữ."
            )
        if (
            why == ReturnReason.INVITATIONS_EXHAUSTED
            and failed_attempts(c) < MIN_INVITATIONS
            and invitation_overdue(c, local_date(at), calendar) is None
        ):
            raise ValidationFailed(
                {"reason": ["Chưa mời nhận đủ 2 lần, cách nhau 02 ngày làm việc; chưa chuyển hoàn vì lý do này."]}
            )
        text = RETURN_REASON_LABELS_VI[why]
        proof = _proof(caller, c, at, Outcome.RETURNED_TO_AGENCY)
        proof.reason, proof.note = why.value, remark
        return _Plan([(Status.RETURNING_TO_AGENCY, f"Chuyển hoàn: {text.lower()}")], proof)

    return _record(deps, caller, consignment_id, client_event_id, occurred_at, plan)


# --------------------------------------------------------------------------------------------------- common


def _record(
    deps: Deps,
    caller: ClerkCaller,
    consignment_id: str,
    client_event_id: str,
    occurred_at: datetime | None,
    plan: Planner,
    *,
    count_attempt: bool = False,
) -> OutcomeResult:
    eid = canonical_event_id(client_event_id)
    if eid is None:
        raise ValidationFailed({"client_event_id": ["Bắt buộc: một UUID do thiết bị tạo cho lần ghi nhận này."]})
    now = deps.clock.now()
    at = occurred_at or now
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise ValidationFailed({"occurred_at": ["Cần thời điểm có múi giờ."]})
    if at - now > MAX_CLOCK_AHEAD:
        raise ValidationFailed({"occurred_at": ["Thời điểm ở tương lai; kiểm tra đồng hồ thiết bị."]})
    for attempt in range(1, ATTEMPTS + 1):
        try:
            result, wake = _once(deps, caller, consignment_id, eid, at, plan, now, count_attempt)
            break
        except Conflict as exc:
            # Our own insert or save lost a race: the other request's result is in the DB now, so try again
            # (a replay answers it). A state that refuses the outcome is final.
            if attempt == ATTEMPTS or not getattr(exc, "retry", False):
                raise
    deps.wake(wake)
    return result


class _Race(Conflict):
    retry = True


def _once(
    deps: Deps,
    caller: ClerkCaller,
    consignment_id: str,
    eid: str,
    at: datetime,
    plan: Planner,
    now: datetime,
    count_attempt: bool,
) -> tuple[OutcomeResult, list[int]]:
    with deps.uow() as uow:
        summaries = Summaries(uow)
        earlier = uow.delivery_proofs.by_event(caller.user_id, eid)
        if earlier is not None:
            if earlier.consignment_id != consignment_id:
                raise ValidationFailed({"client_event_id": ["Mã sự kiện này đã dùng cho một bưu gửi khác."]})
            c = uow.consignments.get(earlier.consignment_id)
            assert c is not None
            return _answer(earlier, c, summaries), []
        c = visible_consignment(uow, caller, consignment_id)
        if c is None:
            raise NotFound("Không tìm thấy bưu gửi này ở bưu cục của bạn.")
        last = c.events[-1].occurred_at if c.events else c.created_at
        if at < last:
            raise ValidationFailed(
                {"occurred_at": ["Thời điểm cũ hơn thay đổi gần nhất của bưu gửi; không ghi nhận lùi thời gian."]}
            )
        p = plan(c, at)
        before = c.status
        location = office_name(uow, caller.post_office_code)
        for status, description in p.steps:
            c.transition(
                status,
                occurred_at=at,
                source=Source.SCAN,
                actor=caller.actor,
                location=location,
                description=description,
            )
        if count_attempt:
            p.proof.attempt = failed_attempts(c)
        p.proof.client_event_id = eid
        p.proof.status_after = c.status.value
        p.proof.recorded_at = now
        try:
            uow.consignments.save(c)
            uow.delivery_proofs.add(p.proof)
        except Conflict as exc:
            raise _Race(exc.message) from None
        wake = record_effects(uow, c, now=now, deps=deps)
        uow.audit.record(
            AuditEntry(
                at=now,
                actor=caller.actor,
                action=f"outcome.{p.proof.outcome.value}",
                subject=f"consignment:{c.id}",
                details={
                    "before": {"status": before.value},
                    "after": {
                        "status": c.status.value,
                        "proof_id": p.proof.id,
                        "occurred_at": at.isoformat(),
                        "reason": p.proof.reason,
                        "attempt": p.proof.attempt,
                        "receiver": p.proof.receiver,
                        "id_type": p.proof.id_type,
                        "id_check": p.proof.id_check,
                    },
                    "client_event_id": eid,
                    "post_office_code": caller.post_office_code,
                },
            )
        )
        result = _answer(p.proof, c, summaries)
        uow.commit()
    return result, wake


def _proof(caller: ClerkCaller, c: Consignment, at: datetime, outcome: Outcome) -> DeliveryProof:
    return DeliveryProof(
        client_event_id="",
        consignment_id=c.id,
        outcome=outcome,
        occurred_at=at,
        recorded_at=at,
        actor=caller.actor,
        user_id=caller.user_id,
        post_office_code=caller.post_office_code,
        status_before=c.status.value,
        status_after=c.status.value,
    )


def _reason_label(proof: DeliveryProof) -> str | None:
    if not proof.reason:
        return None
    if proof.outcome == Outcome.RETURNED_TO_AGENCY:
        return RETURN_REASON_LABELS_VI[ReturnReason(proof.reason)]
    return FAILURE_REASONS[FailureReason(proof.reason)].label


def _message_of(proof: DeliveryProof) -> str:
    """The clerk's feedback, from the stored proof alone (a replay answers exactly like the first time)."""
    if proof.outcome == Outcome.DELIVERED:
        who = RECEIVER_LABELS_VI[Receiver(proof.receiver or "citizen")].lower()
        return f"Đã ghi nhận phát thành công ({who})."
    if proof.outcome == Outcome.RETURNED_TO_AGENCY:
        return (
            f"Đã ghi nhận chuyển hoàn về cơ quan ({(_reason_label(proof) or '').lower()}); "
            "bàn giao lại cho cơ quan bằng phiên bàn giao."
        )
    why = FailureReason(proof.reason)
    then = "Kết quả chuyển hoàn về cơ quan." if why == FailureReason.RECIPIENT_REFUSED else FAILURE_REASONS[why].then
    return f"Đã ghi nhận lần {proof.attempt or 1} không thành công: {FAILURE_REASONS[why].label}. {then}"


def _answer(proof: DeliveryProof, c: Consignment, summaries: Summaries) -> OutcomeResult:
    return OutcomeResult(
        client_event_id=proof.client_event_id,
        outcome=proof.outcome.value,
        message=_message_of(proof),
        item=summaries.of(c, tuple(a.value for a in next_actions(c.kind, c.status))),
        status_before=proof.status_before,
        status_after=proof.status_after,
        status_before_label=label(proof.status_before) or "",
        status_after_label=label(proof.status_after) or "",
        attempt=proof.attempt,
        reason=proof.reason,
        reason_label=_reason_label(proof),
        proof_id=proof.id,
    )


# ------------------------------------------------------------------------------------------------ checking


def _enum(kind, value: object, field: str, errors: dict[str, list[str]]):
    try:
        return kind(value)
    except ValueError:
        errors[field] = [f"Phải là một trong: {', '.join(m.value for m in kind)}."]
        return None


def _last4(id_type: IdType | None, value: object, field: str, errors: dict[str, list[str]]) -> str | None:
    try:
        return id_last_digits(id_type or IdType.CCCD, value)
    except ValueError as exc:
        errors[field] = [str(exc)]
        return None


def _text(value: object, field: str, limit: int, errors: dict[str, list[str]], required: str) -> str | None:
    text = nfc(value) if isinstance(value, str) else ""
    if not text:
        errors[field] = [required]
        return None
    if len(text) > limit:
        errors[field] = [f"Tối đa {limit} ký tự."]
        return None
    return text


def _note(value: object, errors: dict[str, list[str]]) -> str:
    text = nfc(value) if isinstance(value, str) else ""
    if len(text) > MAX_NOTE:
        errors["note"] = [f"Tối đa {MAX_NOTE} ký tự."]
    return text
