"""Retention and the citizen's personal data (Circular 17/2017 Art 14.3; Law 91/2025/QH15 on Personal Data Protection).

* ``purge``: when retention ends (never before 5 years from acceptance), the name, phone and street line of terminal
  consignments are erased; the records stay (codes, ward and province, statuses, dates, money). A dry run counts and
  lists without changing anything. Consignments with an open incident or complaint wait. The dossier system's
  snapshots of dossiers (``PUT /api/v1/dossiers/<code>``) lose the same data once they were last changed that long
  ago and no consignment of their dossier still holds it.
* ``export_citizen``: everything held about one citizen (by phone), for a data-subject request. Admin keys only, and
  each export is written to the audit log — reading personal data in full outside the owning agency's normal API is
  always audited.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, TextIO

from postal_bridge.domain.citizen import CitizenRequest
from postal_bridge.domain.dossier_snapshots import DossierSnapshot
from postal_bridge.domain.errors import Forbidden, ValidationFailed
from postal_bridge.domain.outcomes import DeliveryProof
from postal_bridge.domain.phone import Phone, parse_phone
from postal_bridge.domain.reports import (
    LOCAL_TZ,
    MIN_RETENTION_YEARS,
    AuditEntry,
    PurgeCandidate,
    local_date,
    retention_cutoff,
)
from postal_bridge.domain.sms import SmsMessage
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps

PURGE_ACTION = "privacy.purge"
EXPORT_ACTION = "privacy.export"


@dataclass(frozen=True)
class PurgeReport:
    dry_run: bool
    older_than_years: int
    accepted_before: date  # consignments accepted (J) before this day are due
    candidates: list[PurgeCandidate] = field(default_factory=list)
    erased: int = 0  # 0 on a dry run
    snapshots: list[tuple[str, str]] = field(default_factory=list)  # (agency id, dossier code) of dossier snapshots
    snapshots_erased: int = 0

    @property
    def count(self) -> int:
        return len(self.candidates)


def purge(deps: Deps, *, older_than_years: int = MIN_RETENTION_YEARS, dry_run: bool = True) -> PurgeReport:
    """Erase personal data of terminal consignments accepted more than ``older_than_years`` years ago.

    Raises ValueError (naming ``older_than_years``) for fewer than 5 years.
    """
    now = deps.clock.now()
    cutoff = retention_cutoff(local_date(now), older_than_years)
    created_before = datetime.combine(cutoff, time(0), LOCAL_TZ).astimezone(UTC)
    with deps.uow() as uow:
        candidates = uow.audit.purge_candidates(accepted_before=cutoff, created_before=created_before)
        ids = [c.id for c in candidates]
        snapshots = uow.dossier_snapshots.purge_candidates(updated_before=created_before, ignoring=ids)
        if dry_run or not (candidates or snapshots):
            return PurgeReport(dry_run, older_than_years, cutoff, candidates, 0, snapshots, 0)
        erased = uow.audit.erase_personal_data(ids, at=now) if ids else 0
        snapshots_erased = uow.dossier_snapshots.erase_personal_data(snapshots, at=now)
        uow.audit.record(
            AuditEntry(
                at=now,
                actor="system:retention",
                action=PURGE_ACTION,
                subject="consignments",
                details={
                    "older_than_years": older_than_years,
                    "accepted_before": cutoff.isoformat(),
                    "erased": erased,
                    "consignment_ids": ids,
                    "dossier_snapshots_erased": snapshots_erased,
                    "dossier_snapshots": [f"{agency_id}:{code}" for agency_id, code in snapshots],
                },
            )
        )
        uow.commit()
    return PurgeReport(False, older_than_years, cutoff, candidates, erased, snapshots, snapshots_erased)


def purge_cli(deps: Deps, years: int | None, apply: bool, *, out: TextIO | None = None) -> int:
    """``postal-bridge purge-personal-data [--older-than-years N] [--apply]``: prints a summary; exit code."""
    out = out or sys.stdout
    try:
        report = purge(deps, older_than_years=MIN_RETENTION_YEARS if years is None else years, dry_run=not apply)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mode = "dry run, nothing changed" if report.dry_run else f"erased {report.erased}"
    print(
        f"{report.count} consignment(s) accepted before {report.accepted_before.isoformat()} "
        f"(retention {report.older_than_years} years): {mode}",
        file=out,
    )
    for c in report.candidates:
        print(f"  {c.id}  {c.agency_code}  {c.dossier_code or '-'}  {c.status}  accepted {c.accepted_on}", file=out)
    if report.snapshots:
        done = "dry run" if report.dry_run else f"erased {report.snapshots_erased}"
        print(f"{len(report.snapshots)} dossier snapshot(s) from the dossier system: {done}", file=out)
    if report.dry_run and (report.count or report.snapshots):
        print("Run again with --apply to erase name, phone and street line of these consignments.", file=out)
    return 0


def subject_ref(e164: str) -> str:
    """How the audit log names a citizen without storing the phone number itself."""
    return "citizen:" + hashlib.sha256(e164.encode("utf-8")).hexdigest()[:24]


def _phone(deps: Deps, raw: str) -> Phone:
    try:
        if deps.phones is not None:
            return Phone(deps.phones.parse(raw).e164)
        return parse_phone(raw)
    except ValueError as exc:
        raise ValidationFailed({"phone": [str(exc)[0].upper() + str(exc)[1:].rstrip(".") + "."]}) from exc


def export_citizen(deps: Deps, caller: Caller, phone: str) -> dict[str, Any]:
    """Every consignment of the citizen with this phone (E.164 after parsing), across agencies; audited."""
    if not caller.is_admin:
        raise Forbidden("Exporting a citizen's data needs an admin key.")
    e164 = _phone(deps, phone or "").e164
    now = deps.clock.now()
    with deps.uow() as uow:
        ids = uow.audit.consignment_ids_by_phone(e164)
        items = []
        agencies: dict[str, Any] = {}
        for cid in ids:
            c = uow.consignments.get(cid)
            if c is None:
                continue
            if c.agency_id not in agencies:
                agencies[c.agency_id] = uow.agencies.get(c.agency_id)
            agency = agencies[c.agency_id]
            items.append(
                {
                    "id": c.id,
                    "agency": {"code": agency.code, "name": agency.name} if agency else None,
                    "kind": c.kind.value,
                    "status": c.status.value,
                    "carrier": c.carrier,
                    "tracking_code": c.tracking_code,
                    "dossier": {
                        "code": c.dossier.code,
                        "procedure_code": c.dossier.procedure_code,
                        "procedure_name": c.dossier.procedure_name,
                        "appointment_date": _iso(c.dossier.appointment_date),
                    },
                    "citizen": {
                        "name": c.citizen.name,
                        "phone": c.citizen.phone.e164,
                        "address": {
                            "line": c.citizen.address.line,
                            "ward_code": c.citizen.address.ward_code,
                            "province_code": c.citizen.address.province_code,
                            "legacy_text": c.address_legacy_text,
                        },
                    },
                    "documents": [d.__dict__ for d in c.parcel.documents],
                    "created_at": _iso(c.created_at),
                    "j_date": _iso(c.j_date),
                    "due_date": _iso(c.due_date),
                    "cod_vnd": c.cod_vnd,
                    "postage_vnd": c.postage_vnd,
                    "events": [
                        {"status": e.status.value, "occurred_at": _iso(e.occurred_at), "description": e.description}
                        for e in c.events
                    ],
                    "sms_messages": [_sms(m) for m in uow.sms.for_consignment(c.id)],
                    "delivery_outcomes": [_outcome(p) for p in uow.delivery_proofs.for_consignment(c.id)],
                    "tracking_page_requests": [_request(r) for r in uow.citizen.requests_for(c.id)],
                }
            )
        snapshots = [_snapshot(s, agencies, uow) for s in uow.dossier_snapshots.by_phone(e164)]
        uow.audit.record(
            AuditEntry(
                at=now,
                actor=f"{caller.actor} ({caller.agency.code})",
                action=EXPORT_ACTION,
                subject=subject_ref(e164),
                details={"phone_masked": Phone(e164).masked, "consignment_ids": [i["id"] for i in items]},
            )
        )
        uow.commit()
    return {
        "subject": {"phone": e164},
        "exported_at": now.isoformat(),
        "count": len(items),
        "consignments": items,
        "dossier_snapshots": snapshots,
        "note": (
            "Personal data held by postal-bridge for this phone number (Law 91/2025/QH15). Records are kept at "
            "least 5 years from acceptance (Circular 17/2017 Art 14.3); name, phone and street line are erased after."
        ),
    }


def _snapshot(s: DossierSnapshot, agencies: dict[str, Any], uow) -> dict[str, Any]:
    """What the dossier system sent about one of the citizen's dossiers (only the last 4 of the ID exist)."""
    if s.agency_id not in agencies:
        agencies[s.agency_id] = uow.agencies.get(s.agency_id)
    agency = agencies[s.agency_id]
    return {
        "agency": {"code": agency.code, "name": agency.name} if agency else None,
        "code": s.code,
        "procedure_code": s.procedure_code,
        "procedure_name": s.procedure_name,
        "appointment_date": _iso(s.appointment_date),
        "citizen": {
            "name": s.citizen_name,
            "phone": s.citizen_phone,
            "id_type": s.citizen_id_type,
            "id_last4": s.citizen_id_last4,
            "address": {"line": s.address_line, "ward_code": s.ward_code, "province_code": s.province_code},
        },
        "preference": s.preference.value,
        "received_at": _iso(s.received_at),
        "updated_at": _iso(s.updated_at),
    }


def _sms(m: SmsMessage) -> dict[str, Any]:
    """A text sent to the citizen: the number it went to, what it said and what became of it."""
    return {
        "event": m.event,
        "phone": m.phone,
        "text": m.text,
        "status": m.status.value,
        "created_at": _iso(m.created_at),
        "sent_at": _iso(m.sent_at),
        "delivered_at": _iso(m.delivered_at),
    }


def _request(r: CitizenRequest) -> dict[str, Any]:
    """What the citizen asked for on the tracking page (a new day, a hold, a new address) and what became of it."""
    return {
        "kind": r.kind.value,
        "details": r.details,
        "status": r.status.value,
        "created_at": _iso(r.created_at),
        "handled_at": _iso(r.handled_at),
    }


def _outcome(p: DeliveryProof) -> dict[str, Any]:
    """What the postman recorded at the door: who received or refused, and which ID digits were checked."""
    return {
        "outcome": p.outcome.value,
        "occurred_at": _iso(p.occurred_at),
        "receiver": p.receiver,
        "receiver_name": p.receiver_name,
        "id_type": p.id_type,
        "id_last4": p.id_last4,
        "authorisation_ref": p.authorisation_ref,
        "reason": p.reason,
        "refuser_name": p.refuser_name,
        "refuser_id_last4": p.refuser_id_last4,
    }


def audit_entries(deps: Deps, caller: Caller, *, phone: str | None = None) -> list[AuditEntry]:
    if not caller.is_admin:
        raise Forbidden("The audit log needs an admin key.")
    subject = subject_ref(_phone(deps, phone).e164) if phone else None
    with deps.uow() as uow:
        return uow.audit.entries(subject=subject)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
