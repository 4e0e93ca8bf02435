"""Booking and cancelling with the courier: the outbox handlers that call ``create`` and ``cancel``.

A courier must never end up with two orders for one consignment: the client reference is deterministic per
consignment and booking attempt, and any attempt after the first looks the order up by reference before creating.
"""

from __future__ import annotations

from postal_bridge.domain.alerts import Alert
from postal_bridge.domain.carriers import (
    CarrierAddress,
    CarrierError,
    ConsignmentRequest,
    ConsignmentResult,
    DuplicateReference,
    InvalidState,
    OutcomeUnknown,
    RateLimited,
)
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.model import Agency, OutboxItem, OutboxKind
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.status import Kind, Status
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import add_outbox, record_effects
from postal_bridge.services.outbox import GiveUp, RetryLater, complete, handles, on_dead, safe_reason
from postal_bridge.services.tracking import fold

BOOKING_DEAD = "booking_dead"  # alert kind: a booking dead-lettered after its retry budget


def _party_address(uow: UnitOfWork, *, name: str, phone: str, line: str, ward_code: str) -> CarrierAddress:
    ward = uow.units.ward(ward_code)
    assert ward is not None, f"ward {ward_code} vanished from the units table"
    return CarrierAddress(
        name=name,
        phone=phone,
        line=line,
        ward_code=ward.code,
        ward_name=ward.name,
        province_code=ward.province_code,
        province_name=ward.province_name,
    )


def build_request(uow: UnitOfWork, c: Consignment, agency: Agency) -> ConsignmentRequest:
    citizen = _party_address(
        uow,
        name=c.citizen.name,
        phone=c.citizen.phone.e164,
        line=c.citizen.address.line,
        ward_code=c.citizen.address.ward_code,
    )
    centre = _party_address(
        uow, name=agency.name, phone=agency.phone, line=agency.address.line, ward_code=agency.address.ward_code
    )
    sender, recipient = (centre, citizen) if c.kind == Kind.RETURN else (citizen, centre)
    return ConsignmentRequest(
        client_ref=c.client_ref,
        kind=c.kind.value,
        service=c.service,
        sender=sender,
        recipient=recipient,
        weight_g=c.parcel.weight_g,
        contents=c.parcel.contents,
        cod_vnd=c.cod_vnd,
        options=dict(c.options),
        metadata={"dossier_code": c.dossier.code or "", "agency_code": agency.code},
    )


# Set in a booking's payload when an administrator replays it: its attempts count restarts, but an earlier attempt may
# have reached the courier, so the replay looks the order up by reference before it creates one.
LOOK_UP_FIRST = "look_up_first"


@handles(OutboxKind.BOOK)
def book(deps: Deps, item: OutboxItem) -> list[int]:
    with deps.uow() as uow:
        c = uow.consignments.get(item.consignment_id or "")
        if c is None or c.status != Status.REQUESTED:
            complete(uow, item, deps)  # already booked, cancelled or failed: nothing left to do
            uow.commit()
            return []
        agency = uow.agencies.get(c.agency_id)
        assert agency is not None
        request = build_request(uow, c, agency)
    adapter = deps.carriers.adapter(c.agency_id, c.carrier)
    if adapter is None:
        raise GiveUp(f"carrier {c.carrier!r} is not enabled for this agency")

    first = item.attempts == 1 and not item.payload.get(LOOK_UP_FIRST)
    result = _book_once(adapter, request, first_attempt=first)
    with deps.uow() as uow:
        c = uow.consignments.get(c.id)
        assert c is not None
        now = deps.clock.now()
        ids: list[int] = []
        if isinstance(result, CarrierError):
            if c.status == Status.REQUESTED:
                c.mark_booking_failed(reason=f"Courier refused the booking: {result.message}", occurred_at=now)
        elif c.status == Status.REQUESTED:
            c.mark_booked(
                tracking_code=result.carrier_ref,
                carrier_ref=result.carrier_internal_id or result.carrier_ref,
                occurred_at=now,
                postage_vnd=result.fee_total_vnd,
            )
        elif c.status == Status.CANCELLED:
            # Cancelled while we were booking: the courier has an order nobody wants any more.
            ids.append(
                add_outbox(
                    uow,
                    OutboxKind.CANCEL_WITH_CARRIER,
                    now=now,
                    consignment_id=c.id,
                    payload={"carrier": c.carrier, "carrier_ref": result.carrier_internal_id or result.carrier_ref},
                )
            )
        uow.consignments.save(c)
        ids += record_effects(uow, c, now=now, deps=deps)
        complete(uow, item, deps)
        uow.commit()
    if not isinstance(result, CarrierError) and c.tracking_code == result.carrier_ref:
        adopt_orphans(deps, c.carrier, result.carrier_ref, c.id)
    return ids


def _book_once(adapter, request: ConsignmentRequest, *, first_attempt: bool) -> ConsignmentResult | CarrierError:
    """One booking attempt. Returns the result, or the permanent error to record; raises RetryLater if transient."""
    from postal_bridge.domain.carriers import Capability

    can_look_up = Capability.LOOKUP_BY_REF in adapter.capabilities
    try:
        if not first_attempt and can_look_up:
            found = adapter.find_by_reference(request.client_ref)
            if found is not None:
                return found
        try:
            return adapter.create(request)
        except DuplicateReference as exc:
            found = adapter.find_by_reference(request.client_ref) if can_look_up else None
            if found is None and exc.existing_ref:  # the courier named the order it already has for our reference
                found = ConsignmentResult(
                    carrier=adapter.code, carrier_ref=exc.existing_ref, client_ref=request.client_ref
                )
            if found is None:
                raise RetryLater(f"duplicate reference but no order found yet: {exc.message}") from exc
            return found
    except OutcomeUnknown as exc:
        raise RetryLater(f"outcome unknown, will look up {request.client_ref} first: {exc.message}") from exc
    except RateLimited as exc:
        raise RetryLater(f"rate limited: {exc.message}", after_seconds=exc.retry_after) from exc
    except CarrierError as exc:
        if exc.retryable:
            raise RetryLater(exc.message) from exc
        return exc


@on_dead(OutboxKind.BOOK)
def booking_given_up(uow: UnitOfWork, deps: Deps, item: OutboxItem, reason: str) -> None:
    """A booking past its retry budget leaves the consignment ``requested`` with nothing left to move it: say so."""
    uow.alerts.raise_once(
        Alert(
            at=deps.clock.now(),
            kind=BOOKING_DEAD,
            subject=f"consignment:{item.consignment_id}",
            message=(
                f"Booking consignment {item.consignment_id} with the courier was given up after {item.attempts} "
                f"attempts ({safe_reason(uow, item, reason)}). It stays 'requested'. If a create went unanswered the "
                "courier may hold the order: replaying the item on the outbox page looks it up by reference before "
                "creating one."
            ),
        )
    )


@handles(OutboxKind.CANCEL_WITH_CARRIER)
def cancel_with_carrier(deps: Deps, item: OutboxItem) -> list[int]:
    with deps.uow() as uow:
        c = uow.consignments.get(item.consignment_id or "")
    adapter = deps.carriers.adapter(c.agency_id, item.payload["carrier"]) if c else None
    if adapter is None:
        raise GiveUp(f"carrier {item.payload['carrier']!r} is not configured")
    try:
        adapter.cancel(item.payload["carrier_ref"], "cancelled by the agency")
    except InvalidState as exc:
        raise GiveUp(f"the courier refused the cancel (it may already have the item): {exc.message}") from exc
    except CarrierError as exc:
        if exc.retryable:
            raise RetryLater(exc.message) from exc
        raise GiveUp(exc.message) from exc
    with deps.uow() as uow:
        complete(uow, item, deps)
        uow.commit()
    return []


def adopt_orphans(deps: Deps, carrier: str, tracking_code: str, consignment_id: str) -> None:
    """Courier events pushed before our booking committed are folded now: those matched by nothing yet (attached by
    tracking code) and those matched by our reference that waited for the booking (``tracking.fold``)."""
    with deps.uow() as uow:
        uow.carrier_events.adopt(carrier, tracking_code, consignment_id)
        _, ids, _ = fold(uow, deps, consignment_id)
        uow.commit()
    deps.wake(ids)
