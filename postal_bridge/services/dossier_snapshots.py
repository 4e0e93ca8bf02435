"""The dossier system's snapshot of a dossier (``PUT|GET /api/v1/dossiers/<code>``): stored per agency and code,
upserted idempotently, read by the counter's request screen so the citizen is never retyped.

A PUT whose content equals what is stored changes nothing (same revision, same ``updated_at``, no audit entry); one
that differs replaces the snapshot and bumps the revision. Every change is audited with the names of the fields that
changed, never their values. The identity number is reduced to its type and last 4 characters before anything is
stored; the whole number never reaches the database, a log or the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from postal_bridge.domain.address import Address, validate_address_codes
from postal_bridge.domain.dossier import parse_dossier_code
from postal_bridge.domain.dossier_snapshots import DossierSnapshot, Preference, SnapshotCommand, changed_fields
from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.outcomes import IdType, id_last_digits
from postal_bridge.domain.phone import Phone, parse_phone
from postal_bridge.domain.phones import LegacyNumber
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class PutOutcome:
    snapshot: DossierSnapshot
    outcome: str  # created | updated | unchanged


def normalize_code(raw: str) -> str:
    return nfc(raw or "").strip().upper()


def put_snapshot(deps: Deps, caller: Caller, path_code: str, cmd: SnapshotCommand) -> PutOutcome:
    """Validate and upsert; ``ValidationFailed`` (fields named as in the body) changes nothing."""
    now = deps.clock.now()
    draft = _validate(deps, caller, path_code, cmd, now)
    for _ in range(3):  # a concurrent first PUT of the same dossier may win the insert: then update over it
        with deps.uow() as uow:
            before = uow.dossier_snapshots.get(caller.agency.id, draft.code)
            if before is not None and before.content() == draft.content():
                return PutOutcome(before, UNCHANGED)
            after = (
                draft
                if before is None
                else replace(draft, received_at=before.received_at, revision=before.revision + 1)
            )
            if not uow.dossier_snapshots.put(after):
                continue
            uow.audit.record(
                AuditEntry(
                    at=now,
                    actor=caller.actor,
                    action="dossier.snapshot_created" if before is None else "dossier.snapshot_updated",
                    subject=f"dossier:{caller.agency.code}:{after.code}",
                    details={
                        "before": None if before is None else {"revision": before.revision},
                        "after": {"revision": after.revision},
                        "changed": changed_fields(before, after),
                    },
                )
            )
            uow.commit()
            return PutOutcome(after, CREATED if before is None else UPDATED)
    raise Conflict("The dossier was being changed by another request at the same time; retry.")


def get_snapshot(deps: Deps, caller: Caller, code: str) -> DossierSnapshot:
    """This agency's snapshot of the dossier; another agency's answers exactly like an unknown code."""
    found = find_snapshot(deps, caller, code)
    if found is None:
        raise NotFound("No dossier with this code has been sent by this agency's dossier system.")
    return found


def find_snapshot(deps: Deps, caller: Caller, code: str) -> DossierSnapshot | None:
    value = normalize_code(code)
    if not value:
        return None
    with deps.uow() as uow:
        return uow.dossier_snapshots.get(caller.agency.id, value)


def _validate(deps: Deps, caller: Caller, path_code: str, cmd: SnapshotCommand, now) -> DossierSnapshot:
    errors: dict[str, dict | list] = {}

    def err(path: str, message: str) -> None:
        node = errors
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})  # type: ignore[assignment]
        node.setdefault(leaf, []).append(message)  # type: ignore[union-attr]

    code = ""
    try:
        code = parse_dossier_code(normalize_code(path_code)).value
    except ValueError as exc:
        err("code", _sentence(exc))
    if code and normalize_code(cmd.code) != code:
        err("code", f"Must equal the dossier code in the URL ({code}).")

    name = nfc(cmd.citizen_name or "")
    if not name:
        err("citizen.name", "Required.")
    phone = ""
    try:
        phone = _phone(deps, cmd.citizen_phone or "")
    except LegacyNumber as exc:
        err("citizen.phone", f"This is an old 11-digit number; since 2018 it is {Phone(exc.suggestion).display}.")
    except ValueError as exc:
        err("citizen.phone", _sentence(exc))

    id_type, last4 = None, None
    if cmd.id_number:
        try:
            kind = IdType(cmd.id_type or IdType.CCCD.value)
        except ValueError:
            err("citizen.id_type", f"Must be one of: {', '.join(t.value for t in IdType)}.")
        else:
            number = "".join(cmd.id_number.split()).upper()
            try:
                last4 = id_last_digits(kind, number[-4:])
            except ValueError:
                err("citizen.id_number", "Must end with 4 digits (a passport: letters or digits).")
            else:
                id_type = kind.value
    elif cmd.id_type:
        err("citizen.id_number", "Required when id_type is given.")

    address = Address(
        line=nfc(cmd.address_line or ""), ward_code=cmd.ward_code or "", province_code=cmd.province_code or ""
    )
    with deps.uow() as uow:
        ward = uow.units.ward(address.ward_code)
    for field, messages in validate_address_codes(address, ward).items():
        for m in messages:
            err(f"citizen.address.{field}", m)

    try:
        preference = Preference(cmd.preference or Preference.COUNTER.value)
    except ValueError:
        err("preference", f"Must be one of: {', '.join(p.value for p in Preference)}.")
        preference = Preference.COUNTER
    if errors:
        raise ValidationFailed(errors)  # type: ignore[arg-type]
    return DossierSnapshot(
        agency_id=caller.agency.id,
        code=code,
        procedure_code=_optional(cmd.procedure_code),
        procedure_name=_optional(cmd.procedure_name),
        appointment_date=cmd.appointment_date,
        citizen_name=name,
        citizen_phone=phone,
        citizen_id_type=id_type,
        citizen_id_last4=last4,
        address_line=address.line,
        ward_code=address.ward_code,
        province_code=address.province_code,
        preference=preference,
        received_at=now,
        updated_at=now,
    )


def _phone(deps: Deps, raw: str) -> str:
    if deps.phones is None:
        return parse_phone(raw).e164
    return deps.phones.parse(raw).e164


def _optional(value: str | None) -> str | None:
    return (nfc(value) or None) if value else None


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:].rstrip(".") + "."
