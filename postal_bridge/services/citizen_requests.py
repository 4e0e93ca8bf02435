"""Counter staff's side of the citizens' requests (``/counter/requests``): the open ones of their agency, and marking
one handled (who, when, a note). Another agency's request is answered exactly like an unknown one.

Handling is the counter's word that it passed the request on (told the post office, called the citizen, changed the
address in the dossier system); the consignment itself is not changed here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from postal_bridge.domain.citizen import Action, CitizenRequest, RequestStatus
from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.status import Status
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps

MAX_NOTE = 500
OPEN_LIMIT = 500
HANDLED_LIMIT = 20


@dataclass(frozen=True)
class RequestRow:
    """One request with what the counter needs to act on it."""

    request: CitizenRequest
    consignment_id: str
    tracking_code: str | None
    dossier_code: str | None
    status: Status
    citizen_name: str
    citizen_phone: str  # display form (staff see the full number: they call the citizen back)
    ward: str | None = None  # the new ward (address change), "ward, province"


def open_requests(deps: Deps, caller: Caller) -> list[RequestRow]:
    """The agency's open requests, oldest first."""
    return _rows(deps, caller, RequestStatus.OPEN, OPEN_LIMIT)


def handled_requests(deps: Deps, caller: Caller) -> list[RequestRow]:
    """The agency's most recently handled requests."""
    return _rows(deps, caller, RequestStatus.HANDLED, HANDLED_LIMIT)


def _rows(deps: Deps, caller: Caller, status: RequestStatus, limit: int) -> list[RequestRow]:
    with deps.uow() as uow:
        requests = uow.citizen.requests_of_agency(caller.agency.id, status=status, limit=limit)
        found = uow.consignments.get_many([r.consignment_id for r in requests])
        rows = []
        for r in requests:
            c = found.get(r.consignment_id)
            if c is None or c.agency_id != caller.agency.id:
                continue
            code = r.details.get("ward_code") if r.kind == Action.ADDRESS else None
            ward = uow.units.ward(code) if isinstance(code, str) else None
            rows.append(
                RequestRow(
                    request=r,
                    consignment_id=c.id,
                    tracking_code=c.tracking_code,
                    dossier_code=c.dossier.code,
                    status=c.status,
                    citizen_name=c.citizen.name,
                    citizen_phone=c.citizen.phone.display if c.citizen.phone.e164 else "",
                    ward=f"{ward.name}, {ward.province_name}" if ward else None,
                )
            )
    return rows


def mark_handled(deps: Deps, caller: Caller, request_id: str, *, note: str = "") -> CitizenRequest:
    """Record who handled the request, when, and how (the note); refused once it is no longer open."""
    text = " ".join(nfc(note or "").split())
    if len(text) > MAX_NOTE:
        raise ValidationFailed({"note": [f"At most {MAX_NOTE} characters."]})
    now = deps.clock.now()
    with deps.uow() as uow:
        request = uow.citizen.get_request(request_id, agency_id=caller.agency.id)
        if request is None:
            raise NotFound("No citizen request with this id.")
        if request.status != RequestStatus.OPEN or not uow.citizen.mark_handled(
            request.id, by=caller.actor, at=now, note=text
        ):
            raise Conflict("This request is no longer open.")
        uow.audit.record(
            AuditEntry(
                at=now,
                actor=caller.actor,
                action="citizen_request.handled",
                subject=f"consignment:{request.consignment_id}",
                details={
                    "request_id": request.id,
                    "kind": request.kind.value,
                    "before": {"status": request.status.value},
                    "after": {"status": RequestStatus.HANDLED.value, "note": text},
                },
            )
        )
        uow.commit()
    return replace(request, status=RequestStatus.HANDLED, handled_by=caller.actor, handled_at=now, note=text)
