"""Consignment commands and queries for the API: create (idempotent), cancel, read, list, track by token."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from postal_bridge.domain.address import Address, Party, Ward, validate_address_codes
from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.domain.consignment import DOCUMENT_KINDS, Consignment, Document, DossierLink, Parcel
from postal_bridge.domain.dossier import parse_dossier_code
from postal_bridge.domain.errors import (
    Conflict,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    NotFound,
    ValidationFailed,
)
from postal_bridge.domain.model import IdempotencyRecord, OutboxKind
from postal_bridge.domain.outcomes import IdType, id_last_digits
from postal_bridge.domain.phone import Phone, parse_phone
from postal_bridge.domain.phones import LegacyNumber
from postal_bridge.domain.status import Kind, Status
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import add_outbox, record_effects
from postal_bridge.services.geography import enrich

SERVICES = ("standard", "express")
SANDBOX_SCENARIOS = ("delivered", "failed_then_delivered", "returned")
MAX_WEIGHT_G = 30_000


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    replayed: bool


def new_tracking_token() -> str:
    """64 random bits in 11 URL-safe characters: short enough for one SMS part, not guessable at our rate limits."""
    return secrets.token_urlsafe(8)


def create_consignment(
    deps: Deps,
    caller: Caller,
    cmd: CreateConsignment,
    *,
    idempotency_key: str,
    fingerprint: str,
    render: Callable[[Consignment], str],
) -> StoredResponse:
    """Validate, then store consignment + outbox rows + the key with its response in one transaction.

    A retry of a request already done (same key, same body) is answered from the stored response by one read, before
    any validation or write: replays cost a lookup, and never queue behind writers for the database's write lock.

    The key is written last in the same transaction as what it answers for (``INSERT … ON CONFLICT DO NOTHING``), so
    there is no separate claim to commit first, complete later and release on failure: a request that fails leaves
    nothing behind, and of two requests racing with one key the second finds the first's answer once it commits
    (PostgreSQL holds it on the key's index until then; SQLite's writers take turns) and replays it."""
    done = _stored_response(deps, caller.principal_id, idempotency_key, fingerprint)
    if done is not None:
        return done
    consignment, ward = _build(deps, caller, cmd)  # raises ValidationFailed before anything is stored
    now = deps.clock.now()
    enrich(deps, consignment, caller.agency, ward, now=now)
    with deps.uow() as uow:
        uow.consignments.add(consignment)
        ids = record_effects(uow, consignment, now=now, deps=deps)
        if consignment.status == Status.REQUESTED and not consignment.awaiting_address_confirmation:
            ids.append(add_outbox(uow, OutboxKind.BOOK, now=now, consignment_id=consignment.id, payload={}))
        body = render(consignment)
        answer = IdempotencyRecord(
            principal_id=caller.principal_id,
            key=idempotency_key,
            fingerprint=fingerprint,
            created_at=now,
            state="done",
            response_status=201,
            response_body=body,
            resource_id=consignment.id,
        )
        if not uow.idempotency.insert_done(answer):
            replay = _key_taken(deps, uow, answer)
            if replay is not None:
                return replay  # the other request's answer; ours is rolled back with the unit of work
        uow.commit()
    deps.wake(ids)
    return StoredResponse(status=201, body=body, replayed=False)


def _stored_response(deps: Deps, principal_id: str, key: str, fingerprint: str) -> StoredResponse | None:
    with deps.reader() as uow:
        existing = uow.idempotency.get(principal_id, key)
    if existing is None or existing.state != "done" or existing.fingerprint != fingerprint:
        return None  # new, in flight or another body: the full path below decides
    assert existing.response_status is not None and existing.response_body is not None
    return StoredResponse(status=existing.response_status, body=existing.response_body, replayed=True)


def _key_taken(deps: Deps, uow, answer: IdempotencyRecord) -> StoredResponse | None:
    """The key was stored meanwhile: the stored response to replay, or ``None`` once we took over a dead claim (our
    transaction may then commit), else the error the client must see."""
    existing = uow.idempotency.get(answer.principal_id, answer.key)
    if existing is None:  # deleted between our insert and read: the client may simply retry
        raise IdempotencyKeyInUse("A request with this Idempotency-Key was just abandoned; retry.")
    if existing.fingerprint != answer.fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request body.")
    if existing.state == "done":
        assert existing.response_status is not None and existing.response_body is not None
        return StoredResponse(status=existing.response_status, body=existing.response_body, replayed=True)
    # A claim left ``in_progress`` (by a release before 2026-12 that claimed keys in their own transaction): it is
    # taken over once stale, and completed with our answer in this transaction.
    now = answer.created_at
    stale = now - timedelta(seconds=deps.idempotency_stale_seconds)
    if uow.idempotency.take_over(answer.principal_id, answer.key, stale_before=stale, now=now) and (
        uow.idempotency.complete(
            answer.principal_id,
            answer.key,
            claimed_at=now,
            status=201,
            body=answer.response_body or "",
            resource_id=answer.resource_id or "",
            now=now,
        )
    ):
        return None
    raise IdempotencyKeyInUse("A request with this Idempotency-Key is still being processed; retry shortly.")


def _build(deps: Deps, caller: Caller, cmd: CreateConsignment) -> tuple[Consignment, Ward]:
    """The consignment ``cmd`` describes and its citizen's ward, or ``ValidationFailed`` naming every bad field."""
    errors: dict[str, dict | list] = {}

    def err(path: str, message: str) -> None:
        node = errors
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})  # type: ignore[assignment]
        node.setdefault(leaf, []).append(message)  # type: ignore[union-attr]

    if cmd.kind not in {k.value for k in Kind}:
        err("kind", "Must be one of: pickup, return, transfer.")
    adapter = deps.carriers.adapter(caller.agency.id, cmd.carrier)
    if adapter is None:
        available = ", ".join(sorted(e.code for e in deps.carriers.enabled(caller.agency.id))) or "none"
        err("carrier", f"Courier {cmd.carrier!r} is not enabled for this agency; available: {available}.")
    if cmd.service not in SERVICES:
        err("service", f"Must be one of: {', '.join(SERVICES)}.")
    elif adapter is not None and cmd.service not in adapter.services:
        err("service", f"{adapter.name} is set up for: {', '.join(adapter.services)}.")
    scenario = cmd.options.get("sandbox_scenario")
    if scenario is not None and (cmd.carrier != "sandbox" or scenario not in SANDBOX_SCENARIOS):
        err("options.sandbox_scenario", f"Only for carrier 'sandbox'; one of: {', '.join(SANDBOX_SCENARIOS)}.")
    # A return may be registered before its result exists: it waits in awaiting_result, unbooked, until the dossier
    # system says the result is ready (services.dossiers).
    awaiting_result = bool(cmd.options.get("awaiting_result"))
    if awaiting_result and cmd.kind != Kind.RETURN:
        err("options.awaiting_result", "Only for a return.")

    dossier_code = None
    if cmd.dossier_code:
        try:
            dossier_code = parse_dossier_code(cmd.dossier_code).value
        except ValueError as exc:
            err("dossier.code", str(exc)[0].upper() + str(exc)[1:] + ".")
    elif cmd.kind != Kind.PICKUP:
        err("dossier.code", "Required for a return or transfer (a pickup may come before the dossier has a code).")

    phone = None
    try:
        phone = _phone(deps, cmd.citizen_phone)
    except LegacyNumber as exc:
        err("citizen.phone", f"This is an old 11-digit number; since 2018 it is {Phone(exc.suggestion).display}.")
    except ValueError as exc:
        err("citizen.phone", str(exc)[0].upper() + str(exc)[1:].rstrip(".") + ".")
    if not nfc(cmd.citizen_name):
        err("citizen.name", "Required.")

    address_status, legacy_text = "exact", None
    ward_code, province_code, line = cmd.ward_code, cmd.province_code, cmd.address_line
    if cmd.address_text or cmd.address_scheme == "legacy":
        converted = _convert_address(deps, cmd, err)
        if converted:
            ward_code, province_code, line, address_status, legacy_text = converted
    address = Address(line=nfc(line), ward_code=ward_code, province_code=province_code)
    with deps.reader() as uow:
        ward = uow.units.ward(ward_code)
    for field, messages in validate_address_codes(address, ward).items():
        for m in messages:
            err(f"citizen.address.{field}", m)

    id_type, id_last4 = None, None
    if cmd.citizen_id_type or cmd.citizen_id_last4:
        try:
            id_type = IdType(cmd.citizen_id_type or "").value
            id_last4 = id_last_digits(IdType(id_type), cmd.citizen_id_last4 or "")
        except ValueError:
            err("citizen.id_last4", "The ID's type (cccd, cmnd, passport) and its last 4 characters, or neither.")

    if not 1 <= cmd.weight_g <= MAX_WEIGHT_G:
        err("parcel.weight_g", f"Must be between 1 and {MAX_WEIGHT_G} grams.")
    documents = []
    for i, d in enumerate(cmd.documents):
        if d.get("kind", "copy") not in DOCUMENT_KINDS:
            err(f"parcel.documents.{i}.kind", f"Must be one of: {', '.join(DOCUMENT_KINDS)}.")
        elif not nfc(str(d.get("name", ""))):
            err(f"parcel.documents.{i}.name", "Required.")
        else:
            documents.append(
                Document(name=nfc(str(d["name"])), kind=d.get("kind", "copy"), quantity=int(d.get("quantity", 1)))
            )
    if errors:
        raise ValidationFailed(errors)  # type: ignore[arg-type]

    assert phone is not None and ward is not None
    return Consignment.register(
        initial=Status.AWAITING_RESULT if awaiting_result else Status.REQUESTED,
        occurred_at=deps.clock.now(),
        actor=caller.actor,
        id=str(uuid.uuid4()),
        agency_id=caller.agency.id,
        api_key_id=caller.api_key_id,
        kind=Kind(cmd.kind),
        carrier=cmd.carrier,
        service=cmd.service,
        dossier=DossierLink(
            code=dossier_code,
            procedure_code=nfc(cmd.procedure_code) if cmd.procedure_code else None,
            procedure_name=nfc(cmd.procedure_name) if cmd.procedure_name else None,
            appointment_date=cmd.appointment_date,
        ),
        citizen=Party(name=nfc(cmd.citizen_name), phone=phone, address=address),
        parcel=Parcel(weight_g=cmd.weight_g, contents=nfc(cmd.contents), documents=tuple(documents)),
        cod_vnd=cmd.cod_vnd,
        options={k: v for k, v in cmd.options.items() if k != "awaiting_result"},
        tracking_token=new_tracking_token(),
        address_status=address_status,
        address_legacy_text=legacy_text,
        citizen_id_type=id_type,
        citizen_id_last4=id_last4,
    ), ward


def prepare(deps: Deps, caller: Caller, cmd: CreateConsignment) -> Consignment:
    """The consignment ``cmd`` would create, validated but not stored (``ValidationFailed`` as for a create): what
    the counter's screen previews — fee, route, the texts the citizen will get — before anything is booked."""
    c, ward = _build(deps, caller, cmd)
    enrich(deps, c, caller.agency, ward, now=deps.clock.now())
    return c


def _convert_address(deps: Deps, cmd: CreateConsignment, err) -> tuple[str, str, str, str, str] | None:
    """Resolve free text or legacy codes to a 2025 ward: (ward, province, line, status, legacy text) or None.

    A commune that was split, or a name that fits several wards, becomes a *suggestion*: the best candidate is kept
    provisionally, and booking and label printing wait until a person confirms the ward.
    """
    from postal_bridge.services import addresses

    legacy = cmd.address_text or f"{cmd.address_line} [legacy {cmd.ward_code}/{cmd.province_code}]"
    try:
        r = addresses.resolve(
            deps,
            text=cmd.address_text,
            ward_code=None if cmd.address_text else cmd.ward_code,
            province_code=None if cmd.address_text else cmd.province_code,
            scheme="2025" if cmd.address_text else cmd.address_scheme,
            line=cmd.address_line,
        )
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            for m in messages:
                err(f"citizen.address.{field}", m)
        return None
    if r.status == "not_found" or not r.candidates:
        err(
            "citizen.address.text" if cmd.address_text else "citizen.address.ward_code",
            r.message
            or "No 2025 ward matches this address; check the ward and province, or choose them from the list.",
        )
        return None
    best = r.candidates[0]
    line = nfc(best.line or r.line or cmd.address_line)
    if not line:
        err("citizen.address.line", "The street line (house number, street, hamlet) is missing.")
        return None
    status = "suggested" if r.needs_confirmation else "exact"
    return best.ward_code, best.province_code, line, status, nfc(legacy)


def confirm_address(deps: Deps, caller: Caller, consignment_id: str, *, ward_code: str, by: str) -> Consignment:
    """A person picks the 2025 ward among the candidates of a converted address; booking then goes ahead."""
    from postal_bridge.services import addresses

    c = get_consignment(deps, caller, consignment_id)
    if not c.awaiting_address_confirmation:
        raise Conflict("This consignment's address needs no confirmation.")
    r = addresses.resolve(deps, text=c.address_legacy_text) if c.address_legacy_text else None
    allowed = {cand.ward_code: cand for cand in (r.candidates if r else [])}
    if ward_code not in allowed:
        raise ValidationFailed({"ward_code": [f"Choose one of: {', '.join(sorted(allowed)) or 'none'}."]})
    chosen = allowed[ward_code]
    now = deps.clock.now()
    address = Address(line=c.citizen.address.line, ward_code=chosen.ward_code, province_code=chosen.province_code)
    with deps.uow() as uow:
        ward = uow.units.ward(chosen.ward_code)
    assert ward is not None
    # Route, fee and post office for the chosen ward, worked out on a scratch copy outside the transaction.
    scratch = replace(c, citizen=Party(name=c.citizen.name, phone=c.citizen.phone, address=address))
    enrich(deps, scratch, caller.agency, ward, now=now)
    with deps.uow() as uow:
        c = uow.consignments.get(consignment_id, agency_id=caller.agency.id)
        assert c is not None
        c.confirm_address(address, by=nfc(by), at=now)
        for field in (
            "route_class",
            "j_date",
            "due_date",
            "fee_vnd",
            "payer",
            "geo_lat",
            "geo_lon",
            "geo_approximate",
            "post_office_code",
        ):
            setattr(c, field, getattr(scratch, field))
        uow.consignments.save(c)
        ids = []
        if c.status == Status.REQUESTED:
            ids.append(add_outbox(uow, OutboxKind.BOOK, now=now, consignment_id=c.id, payload={}))
        uow.commit()
    deps.wake(ids)
    return c


def _phone(deps: Deps, raw: str) -> Phone:
    """phonenumbers when wired (deps.phones), else the domain's stdlib parser."""
    if deps.phones is None:
        return parse_phone(raw)
    return Phone(deps.phones.parse(raw).e164)


def get_consignment(deps: Deps, caller: Caller, consignment_id: str) -> Consignment:
    """Another agency's consignment is answered exactly like an unknown id."""
    with deps.uow() as uow:
        c = uow.consignments.get(consignment_id, agency_id=caller.agency.id)
    if c is None:
        raise NotFound("No consignment with this id.")
    return c


def list_consignments(
    deps: Deps, caller: Caller, *, dossier_code: str | None, status: str | None, page: int, per_page: int
) -> tuple[list[Consignment], int]:
    with deps.uow() as uow:
        return uow.consignments.search(
            agency_id=caller.agency.id,
            dossier_code=dossier_code.strip().upper() if dossier_code else None,
            status=status,
            offset=(page - 1) * per_page,
            limit=per_page,
        )


def cancel_consignment(deps: Deps, caller: Caller, consignment_id: str, *, reason: str | None) -> Consignment:
    """Cancel before the courier has the item; a booked order is also cancelled with the courier (outbox)."""
    with deps.uow() as uow:
        c = uow.consignments.get(consignment_id, agency_id=caller.agency.id)
        if c is None:
            raise NotFound("No consignment with this id.")
        now = deps.clock.now()
        tell_courier = c.cancel(occurred_at=now, actor=caller.actor, reason=reason)
        uow.consignments.save(c)
        ids = record_effects(uow, c, now=now, deps=deps)
        if tell_courier:
            ids.append(
                add_outbox(
                    uow,
                    OutboxKind.CANCEL_WITH_CARRIER,
                    now=now,
                    consignment_id=c.id,
                    payload={"carrier": c.carrier, "carrier_ref": c.carrier_ref or c.tracking_code},
                )
            )
        uow.commit()
    deps.wake(ids)
    return c


def find_by_token(deps: Deps, token: str) -> Consignment | None:
    if not token or len(token) > 32:
        return None
    with deps.uow() as uow:
        return uow.consignments.by_token(token)
