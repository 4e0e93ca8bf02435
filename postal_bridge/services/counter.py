"""The counter staff's use cases (Bộ phận Một cửa): one screen per request, the day's list, the "needs attention"
list, a consignment's page, and printing the label and the Phiếu gửi in one action.

* ``lookup``: the typed or scanned dossier code → the dossier system's snapshot (or none: the staff types the citizen,
  and the consignment is marked so).
* ``preview``: what the request would create — the consignments (a return, a pickup, or both: a pickup of the dossier
  and a return of the result), each courier's price, the exact texts the citizen will get — validated, nothing stored.
* ``book``: creates them through ``services.consignments.create_consignment``, each with an Idempotency-Key derived
  from the form's one-time nonce: the same form submitted twice creates nothing twice, and a form changed after it
  was booked is refused instead of booking again.
* ``documents``: the labels and slips of booked consignments, once the courier gave the tracking codes.

Every action is written to the audit log with who, what and when; the citizen's data never is (only ids, kinds,
statuses and the names of what changed).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from postal_bridge.domain.address import Ward
from postal_bridge.domain.addressing import Candidate, UnitRecord
from postal_bridge.domain.carriers import EnabledCarrier
from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.counter import (
    CHOICES,
    CITIZEN_FROM_DOSSIER,
    CITIZEN_TYPED,
    CounterRow,
    ListFilter,
    local_day_bounds,
    local_today,
)
from postal_bridge.domain.dossier import parse_dossier_code
from postal_bridge.domain.dossier_snapshots import DossierSnapshot
from postal_bridge.domain.errors import Conflict, IdempotencyKeyInUse, ValidationFailed
from postal_bridge.domain.model import PrintRecord
from postal_bridge.domain.phone import Phone, parse_phone
from postal_bridge.domain.phones import LegacyNumber
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.sla import Breach
from postal_bridge.domain.sms import SmsMessage
from postal_bridge.domain.status import CANCELLABLE, Kind, Status
from postal_bridge.domain.text import fold_place_name, nfc
from postal_bridge.services import (
    addresses,
    carriers,
    consignments,
    dossier_snapshots,
    labels,
    post_offices,
    sla,
    sms,
)
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps

PER_PAGE = 25
MAX_PRINT = 10
DEFAULT_WEIGHT_G = 250
CONTENTS = {
    Kind.PICKUP: "Hồ sơ thủ tục hành chính",
    Kind.RETURN: "Kết quả giải quyết thủ tục hành chính",
}
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
IN_FLIGHT_WAIT_SECONDS = 5.0
BAD_CODE = "Dossier code: 3-64 letters, digits or . / _ - characters."


# ---------------------------------------------------------------------------------------------------- the dossier


@dataclass(frozen=True)
class Lookup:
    code: str  # normalised; "" when the staff has none yet (a pickup before the dossier has a code)
    snapshot: DossierSnapshot | None
    ward: Ward | None  # the snapshot's ward, for its name
    structured: bool  # the code follows TT 01/2018 (others are accepted, flagged)
    existing: list[Consignment] = field(default_factory=list)  # this agency's consignments of the dossier already


def lookup(deps: Deps, caller: Caller, raw_code: str, *, audit: bool = True) -> Lookup:
    """The dossier behind a typed or scanned code; ``ValidationFailed`` (``dossier_code``) for an impossible code."""
    raw = nfc(raw_code or "").strip()
    if not raw:
        return Lookup(code="", snapshot=None, ward=None, structured=False)
    try:
        parsed = parse_dossier_code(raw)
    except ValueError:
        raise ValidationFailed({"dossier_code": [BAD_CODE]}) from None
    snapshot = dossier_snapshots.find_snapshot(deps, caller, parsed.value)
    with deps.uow() as uow:
        ward = uow.units.ward(snapshot.ward_code) if snapshot and not snapshot.purged else None
        existing, _ = uow.consignments.search(
            agency_id=caller.agency.id, dossier_code=parsed.value, status=None, offset=0, limit=20
        )
        if audit and snapshot is not None:  # reading a citizen's data is an access worth recording
            _audit(uow, deps, caller, "counter.dossier_viewed", f"dossier:{caller.agency.code}:{parsed.value}")
            uow.commit()
    return Lookup(parsed.value, snapshot, ward, parsed.structured, existing)


# ------------------------------------------------------------------------------------------------------ the form


@dataclass(frozen=True)
class RequestForm:
    """What the request screen sends. The citizen's fields count only when the dossier system sent no snapshot."""

    dossier_code: str = ""
    choice: str = ""  # return | pickup | both
    courier: str = ""  # "<carrier>:<service>", e.g. "sandbox:standard"; empty: the cheapest quote
    weight_g: str = str(DEFAULT_WEIGHT_G)
    result_ready: bool = True  # a return alone: the result exists now (booked at once) or is awaited
    citizen_name: str = ""
    citizen_phone: str = ""
    address_line: str = ""
    province_code: str = ""
    ward_code: str = ""
    ward_query: str = ""  # a ward's name typed instead of choosing it
    address_text: str = ""  # or the whole address as text (old or new form), resolved here
    procedure_name: str = ""
    appointment_date: str = ""  # YYYY-MM-DD


@dataclass(frozen=True)
class Citizen:
    """The citizen as the request will carry them, wherever they came from."""

    source: str  # dossier_system | counter
    name: str
    phone: str  # as given (the snapshot's is E.164 already)
    line: str
    ward_code: str
    province_code: str
    procedure_code: str | None = None
    procedure_name: str | None = None
    appointment_date: date | None = None
    id_type: str | None = None
    id_last4: str | None = None


@dataclass(frozen=True)
class AddressChoice:
    """Typed address → one ward, or candidates for the staff to choose among."""

    ward_code: str | None
    province_code: str
    line: str
    ward_name: str = ""
    wards: list[UnitRecord] = field(default_factory=list)  # matches of a typed ward name
    candidates: list[Candidate] = field(default_factory=list)  # matches of a whole address as text


@dataclass(frozen=True)
class CourierOption:
    carrier: str
    service: str
    name: str
    fees: dict[str, int]  # kind → fee in đồng, for each leg
    promised_days: int | None

    @property
    def value(self) -> str:
        return f"{self.carrier}:{self.service}"

    @property
    def total_vnd(self) -> int:
        return sum(self.fees.values())


@dataclass(frozen=True)
class Leg:
    consignment: Consignment  # not stored
    texts: list[sms.SmsPreview]


@dataclass(frozen=True)
class Preview:
    citizen: Citizen
    address: AddressChoice
    options: list[CourierOption]
    unavailable: dict[str, str]
    chosen: CourierOption | None
    legs: list[Leg]
    commands: list[CreateConsignment]
    phone_display: str
    phone_mobile: bool


class RequestInvalid(ValidationFailed):
    """The request screen's errors by field name, with what was worked out before the error (to show it again):
    the address's ward candidates and the couriers' prices."""

    def __init__(
        self,
        errors: dict[str, list[str]],
        *,
        address: AddressChoice | None = None,
        options: list[CourierOption] | None = None,
        unavailable: dict[str, str] | None = None,
    ) -> None:
        super().__init__(errors)
        self.address = address
        self.options = options or []
        self.unavailable = unavailable or {}


def resolve_address(deps: Deps, form: RequestForm) -> AddressChoice:
    """The ward of an address typed at the counter: chosen, named (type-ahead without JavaScript) or resolved from
    the whole address as text. ``ValidationFailed`` names the form field to fix.

    A chosen ward stands while the name in the ward field is still its name (typing another name searches again).
    """
    province = (form.province_code or "").strip()
    line = nfc(form.address_line or "")
    query = nfc(form.ward_query or "")
    code = (form.ward_code or "").strip()
    if code:
        with deps.uow() as uow:
            ward = uow.units.ward(code)
        if (
            ward is not None
            and (not query or fold_place_name(query) == fold_place_name(ward.name))
            and (not province or province == ward.province_code)
        ):
            return AddressChoice(ward.code, ward.province_code, line, ward_name=ward.name)
    if form.address_text.strip() and not query:
        r = addresses.resolve(deps, text=form.address_text)
        if r.status == "not_found" or not r.candidates:
            raise ValidationFailed({"address_text": ["No 2025 ward matches this address."]})
        best = r.candidates[0]
        line = line or nfc(best.line or r.line)
        if not r.needs_confirmation and len({c.ward_code for c in r.candidates}) == 1:
            return AddressChoice(best.ward_code, best.province_code, line, ward_name=best.ward_name)
        return AddressChoice(None, best.province_code, line, candidates=r.candidates)
    names = dict(addresses.provinces(deps))
    if province not in names:
        raise ValidationFailed({"province_code": ["Choose the province."]})
    if not query:
        raise ValidationFailed({"ward_code": ["Choose the ward."]})
    found = addresses.wards(deps, province, query, limit=10)
    exact = [w for w in found if fold_place_name(w.name) == fold_place_name(query)]
    if len(exact) == 1 or len(found) == 1:
        chosen = (exact or found)[0]
        return AddressChoice(chosen.code, province, line, ward_name=chosen.name)
    if not found:
        raise ValidationFailed({"ward_query": ["No ward of this province has this name."]})
    return AddressChoice(None, province, line, wards=found)


def _citizen(deps: Deps, form: RequestForm, found: Lookup) -> tuple[Citizen, AddressChoice]:
    s = found.snapshot
    if s is not None and not s.purged:
        citizen = Citizen(
            source=CITIZEN_FROM_DOSSIER,
            name=s.citizen_name,
            phone=s.citizen_phone,
            line=s.address_line,
            ward_code=s.ward_code,
            province_code=s.province_code,
            procedure_code=s.procedure_code,
            procedure_name=s.procedure_name,
            appointment_date=s.appointment_date,
            id_type=s.citizen_id_type,
            id_last4=s.citizen_id_last4,
        )
        return citizen, AddressChoice(s.ward_code, s.province_code, s.address_line)
    errors: dict[str, list[str]] = {}
    if not nfc(form.citizen_name):
        errors["citizen_name"] = ["Required."]
    if not nfc(form.citizen_phone):
        errors["citizen_phone"] = ["Required."]
    elif problem := _phone_problem(deps, form.citizen_phone):
        errors["citizen_phone"] = [problem]
    appointment = None
    if form.appointment_date.strip():
        try:
            appointment = date.fromisoformat(form.appointment_date.strip())
        except ValueError:
            errors["appointment_date"] = ["A date, e.g. 2026-12-15."]
    try:
        address = resolve_address(deps, form)
    except ValidationFailed as exc:
        errors.update(exc.errors)  # type: ignore[arg-type]
        address = None
    if address is not None and address.ward_code is None:
        errors.setdefault("ward_code", ["Choose the ward."])
    if address is not None and not address.line:
        errors.setdefault("address_line", ["The street line (house number, street, hamlet) is missing."])
    if errors:
        raise RequestInvalid(errors, address=address)
    assert address is not None and address.ward_code is not None
    citizen = Citizen(
        source=CITIZEN_TYPED,
        name=nfc(form.citizen_name),
        phone=form.citizen_phone,
        line=address.line,
        ward_code=address.ward_code,
        province_code=address.province_code,
        procedure_name=nfc(form.procedure_name) or None,
        appointment_date=appointment,
    )
    return citizen, address


def _phone_problem(deps: Deps, raw: str) -> str | None:
    """What is wrong with a typed phone number (the consignment service's words), or None."""
    try:
        if deps.phones is not None:
            deps.phones.parse(raw)
        else:
            parse_phone(raw)
    except LegacyNumber as exc:
        return f"This is an old 11-digit number; since 2018 it is {Phone(exc.suggestion).display}."
    except ValueError as exc:
        return str(exc)[:1].upper() + str(exc)[1:].rstrip(".") + "."
    return None


def _weight(form: RequestForm) -> int:
    try:
        weight = int((form.weight_g or "").strip())
    except ValueError:
        weight = 0
    if not 1 <= weight <= consignments.MAX_WEIGHT_G:
        raise ValidationFailed({"weight_g": [f"Must be between 1 and {consignments.MAX_WEIGHT_G} grams."]})
    return weight


def _kinds(form: RequestForm) -> tuple[Kind, ...]:
    kinds = CHOICES.get(form.choice)
    if kinds is None:
        raise ValidationFailed({"choice": ["Choose return, pickup or both."]})
    return kinds


def _options(
    deps: Deps, caller: Caller, kinds: tuple[Kind, ...], c: Citizen, weight: int
) -> tuple[list[CourierOption], dict[str, str]]:
    names = {e.code: e.name for e in carriers.list_carriers(deps, caller)}
    fees: dict[tuple[str, str], dict[str, int]] = {}
    days: dict[tuple[str, str], int | None] = {}
    unavailable: dict[str, str] = {}
    for kind in kinds:
        outcome = carriers.get_quotes(
            deps,
            caller,
            kind=kind.value,
            name=c.name,
            phone=c.phone,
            line=c.line,
            ward_code=c.ward_code,
            province_code=c.province_code,
            weight_g=weight,
            cod_vnd=0,
            service=None,
        )
        unavailable.update(outcome.unavailable)
        for q in outcome.quotes:
            key = (q.carrier, q.service)
            fees.setdefault(key, {})[kind.value] = q.fee_vnd
            days[key] = max(filter(None, (days.get(key), q.promised_days)), default=None)
    options = [
        CourierOption(carrier, service, names.get(carrier, carrier), leg_fees, days[(carrier, service)])
        for (carrier, service), leg_fees in fees.items()
        if len(leg_fees) == len(kinds)  # a courier must price every leg
    ]
    options.sort(key=lambda o: (o.total_vnd, o.carrier, o.service))
    return options, unavailable


def _commands(
    form: RequestForm, found: Lookup, citizen: Citizen, kinds: tuple[Kind, ...], chosen: CourierOption, weight: int
) -> list[CreateConsignment]:
    cmds = []
    for kind in kinds:
        options: dict[str, Any] = {"citizen_source": citizen.source}
        # A return beside a pickup waits for its result; a return alone is booked at once unless the staff said the
        # result is not there yet.
        if kind == Kind.RETURN and (len(kinds) > 1 or not form.result_ready):
            options["awaiting_result"] = True
        cmds.append(
            CreateConsignment(
                kind=kind.value,
                carrier=chosen.carrier,
                service=chosen.service,
                citizen_name=citizen.name,
                citizen_phone=citizen.phone,
                address_line=citizen.line,
                ward_code=citizen.ward_code,
                province_code=citizen.province_code,
                weight_g=weight,
                contents=CONTENTS[kind],
                dossier_code=found.code or None,
                procedure_code=citizen.procedure_code,
                procedure_name=citizen.procedure_name,
                appointment_date=citizen.appointment_date,
                options=options,
                citizen_id_type=citizen.id_type,
                citizen_id_last4=citizen.id_last4,
            )
        )
    return cmds


# Where the consignment service's field names land on the request screen.
FIELD_OF = {
    "kind": "choice",
    "carrier": "courier",
    "service": "courier",
    "dossier.code": "dossier_code",
    "citizen.name": "citizen_name",
    "citizen.phone": "citizen_phone",
    "citizen.address.line": "address_line",
    "citizen.address.ward_code": "ward_code",
    "citizen.address.province_code": "province_code",
    "citizen.address.text": "address_text",
    "parcel.weight_g": "weight_g",
    "options.awaiting_result": "choice",
}


def form_errors(errors: dict) -> dict[str, list[str]]:
    """Nested service errors → the screen's field names (anything else under ``_form``)."""
    flat: dict[str, list[str]] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        else:
            messages = node if isinstance(node, list) else [node]
            flat.setdefault(FIELD_OF.get(path, path if path in FORM_FIELDS else "_form"), []).extend(map(str, messages))

    walk(errors, "")
    return flat


FORM_FIELDS = frozenset(RequestForm.__dataclass_fields__) | {"courier", "_form"}


def preview(deps: Deps, caller: Caller, form: RequestForm, found: Lookup) -> Preview:
    """Validate the whole request and show what it would create; nothing is stored. ``RequestInvalid`` names the
    screen's fields and carries the ward candidates of a typed address and the prices found so far."""
    errors: dict[str, list[str]] = {}
    kinds: tuple[Kind, ...] = ()
    weight = DEFAULT_WEIGHT_G
    try:
        kinds = _kinds(form)
    except ValidationFailed as exc:
        errors.update(exc.errors)  # type: ignore[arg-type]
    try:
        weight = _weight(form)
    except ValidationFailed as exc:
        errors.update(exc.errors)  # type: ignore[arg-type]
    citizen, address = None, None
    try:
        citizen, address = _citizen(deps, form, found)
    except RequestInvalid as exc:
        errors.update(exc.errors)  # type: ignore[arg-type]
        address = exc.address
    except ValidationFailed as exc:
        errors.update(form_errors(exc.errors))
    if errors or citizen is None or address is None:
        raise RequestInvalid(errors, address=address)
    try:
        options, unavailable = _options(deps, caller, kinds, citizen, weight)
    except ValidationFailed as exc:
        raise RequestInvalid(form_errors(exc.errors), address=address) from None
    shown = {"address": address, "options": options, "unavailable": unavailable}
    chosen = next((o for o in options if o.value == form.courier), None)
    if chosen is None and form.courier:
        raise RequestInvalid({"courier": ["This courier gives no price for this address; choose another."]}, **shown)
    chosen = chosen or (options[0] if options else None)
    if chosen is None:
        raise RequestInvalid({"courier": ["No courier of this agency serves this address."]}, **shown)
    cmds = _commands(form, found, citizen, kinds, chosen, weight)
    legs = []
    for cmd in cmds:
        try:
            unsaved = consignments.prepare(deps, caller, cmd)
        except ValidationFailed as exc:
            raise RequestInvalid(form_errors(exc.errors), **shown) from None
        legs.append(Leg(unsaved, sms.preview_sms(deps, unsaved)))
    phone = legs[0].consignment.citizen.phone
    return Preview(citizen, address, options, unavailable, chosen, legs, cmds, phone.display, phone.is_mobile)


# ------------------------------------------------------------------------------------------------------- booking


@dataclass(frozen=True)
class Booked:
    ids: list[str]  # in creation (and printing) order
    replayed: bool  # the same form again: nothing new was created


def book(deps: Deps, caller: Caller, form: RequestForm, found: Lookup, nonce: str) -> Booked:
    """Create the request's consignments, idempotently per form (see the module docstring)."""
    if not NONCE.fullmatch(nonce or ""):
        raise ValidationFailed({"_form": ["This form is incomplete; open a new request."]})
    cmds = preview(deps, caller, form, found).commands  # every leg validated before the first is created
    fingerprint = hashlib.sha256(
        json.dumps([asdict(c) for c in cmds], sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()
    ids, replayed = [], True
    for cmd in cmds:
        stored = _create(deps, caller, cmd, key=f"counter:{nonce}:{cmd.kind}", fingerprint=fingerprint)
        ids.append(json.loads(stored.body)["id"])
        replayed = replayed and stored.replayed
        if not stored.replayed:
            with deps.uow() as uow:
                _audit(
                    uow,
                    deps,
                    caller,
                    "counter.consignment_booked",
                    f"consignment:{ids[-1]}",
                    before=None,
                    after={
                        "kind": cmd.kind,
                        "dossier_code": cmd.dossier_code,
                        "carrier": cmd.carrier,
                        "service": cmd.service,
                        "citizen_source": cmd.options["citizen_source"],
                        "awaiting_result": bool(cmd.options.get("awaiting_result")),
                        "request": nonce,
                    },
                )
                uow.commit()
    return Booked(ids, replayed)


def _create(deps: Deps, caller: Caller, cmd: CreateConsignment, *, key: str, fingerprint: str):
    """A double click sends the form twice at once: the second waits for the first and replays its answer."""
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    while True:
        try:
            return consignments.create_consignment(
                deps,
                caller,
                cmd,
                idempotency_key=key,
                fingerprint=fingerprint,
                render=lambda c: json.dumps({"id": c.id, "kind": c.kind.value}),
            )
        except IdempotencyKeyInUse:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# ------------------------------------------------------------------------------------------------------- printing


@dataclass(frozen=True)
class Documents:
    parts: list[bytes]  # label, slip, label, slip… (PDF each), once every printable one is booked
    printed: list[Consignment]
    waiting: list[Consignment]  # booking in progress: no tracking code yet
    later: list[Consignment]  # a return waiting for its result: printed when the result is ready
    blocked: list[Consignment]  # cancelled, refused by the courier, or an address to confirm first

    @property
    def ready(self) -> bool:
        return bool(self.printed) and not self.waiting


def documents(deps: Deps, caller: Caller, ids: list[str]) -> Documents:
    """The labels and Phiếu gửi of these consignments (another agency's id: ``NotFound``, like an unknown one)."""
    if not ids or len(ids) > MAX_PRINT:
        raise ValidationFailed({"id": [f"Between 1 and {MAX_PRINT} consignments."]})
    found = [consignments.get_consignment(deps, caller, i) for i in dict.fromkeys(ids)]
    later = [c for c in found if c.status == Status.AWAITING_RESULT]
    blocked = [
        c
        for c in found
        if c not in later and (c.status in (Status.CANCELLED, Status.BOOKING_FAILED) or c.awaiting_address_confirmation)
    ]
    printable = [c for c in found if c not in later and c not in blocked]
    waiting = [c for c in printable if not c.tracking_code]
    if waiting or not printable:
        return Documents([], [], waiting, later, blocked)
    parts: list[bytes] = []
    for c in printable:
        label = labels.label(deps, caller, c.id, fmt="pdf").content
        slip = labels.slip(deps, caller, c.id).content
        parts += [label, slip]  # type: ignore[list-item]
    with deps.uow() as uow:
        for c in printable:
            _audit(uow, deps, caller, "counter.printed", f"consignment:{c.id}", documents=["label", "slip"])
        uow.commit()
    return Documents(parts, printable, [], later, blocked)


def reprint(deps: Deps, caller: Caller, consignment_id: str, document: str) -> labels.Printed:
    """The label (in the desk's printer format) or the Phiếu gửi again; logged as a reprint and audited."""
    if document == "label":
        printed = labels.label(deps, caller, consignment_id)
    elif document == "slip":
        printed = labels.slip(deps, caller, consignment_id)
    else:
        raise ValidationFailed({"document": ["label or slip."]})
    with deps.uow() as uow:
        _audit(uow, deps, caller, "counter.printed", f"consignment:{consignment_id}", documents=[document])
        uow.commit()
    return printed


def print_history(deps: Deps, caller: Caller, consignment_id: str) -> list[PrintRecord]:
    consignments.get_consignment(deps, caller, consignment_id)
    with deps.uow() as uow:
        return uow.prints.history(consignment_id)


# ------------------------------------------------------------------------------------------------- the lists


@dataclass(frozen=True)
class DayList:
    day: date
    rows: list[CounterRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int]  # status → how many that day (the status filter aside)
    carriers: list[EnabledCarrier]
    wards: dict[str, Ward]


def day_list(
    deps: Deps,
    caller: Caller,
    *,
    day: date | None = None,
    status: str | None = None,
    kind: str | None = None,
    carrier: str | None = None,
    search: str | None = None,
    page: int = 1,
) -> DayList:
    """The agency's consignments registered on one local day (today by default), newest first, filtered."""
    errors: dict[str, list[str]] = {}
    if status and status not in {s.value for s in Status}:
        errors["status"] = ["Unknown status."]
    if kind and kind not in {k.value for k in Kind}:
        errors["kind"] = ["Unknown kind."]
    enabled = carriers.list_carriers(deps, caller)
    if carrier and carrier not in {e.code for e in enabled}:
        errors["carrier"] = ["Unknown courier."]
    search = nfc(search or "")[:64] or None
    if errors:
        raise ValidationFailed(errors)
    day = day or local_today(deps.clock.now())
    start, end = local_day_bounds(day)
    flt = ListFilter(start, end, status or None, kind or None, carrier or None, search)
    page = max(1, page)
    with deps.uow() as uow:
        rows, total = uow.counter.day_list(caller.agency.id, flt, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
        counts = uow.counter.day_counts(caller.agency.id, flt)
        wards = {code: w for code in {r.ward_code for r in rows} if (w := uow.units.ward(code))}
    pages = max(1, -(-total // PER_PAGE))
    return DayList(day, rows, total, min(page, pages), pages, counts, enabled, wards)


ATTENTION_GROUPS = ("delivery_failed", "address_unconfirmed", "overdue")


@dataclass(frozen=True)
class AttentionItem:
    consignment_id: str
    dossier_code: str | None
    kind: str
    status: str
    reason: str  # delivery_failed | address_unconfirmed | a breach kind (transit_overdue, …)
    since: Any
    due_at: Any
    group: str  # delivery_failed | address_unconfirmed | overdue
    candidates: list[Candidate] = field(default_factory=list)  # address_unconfirmed: the wards to choose among


def attention(deps: Deps, caller: Caller) -> dict[str, list[AttentionItem]]:
    """Failed deliveries, addresses a person must confirm, and everything overdue against its legal deadline."""
    grouped: dict[str, list[AttentionItem]] = {g: [] for g in ATTENTION_GROUPS}
    for item in sla.needs_attention(deps, caller):
        group = item["reason"] if item["reason"] in ("delivery_failed", "address_unconfirmed") else "overdue"
        candidates = []
        if group == "address_unconfirmed":
            candidates = address_candidates(deps, consignments.get_consignment(deps, caller, item["consignment_id"]))
        grouped[group].append(
            AttentionItem(
                consignment_id=item["consignment_id"],
                dossier_code=item["dossier_code"],
                kind=item["kind"],
                status=item["status"],
                reason=item["reason"],
                since=item["since"],
                due_at=item["due_at"],
                group=group,
                candidates=candidates,
            )
        )
    return grouped


# -------------------------------------------------------------------------------------------- one consignment


@dataclass(frozen=True)
class Detail:
    consignment: Consignment
    ward: Ward | None
    prints: list[PrintRecord]
    messages: list[SmsMessage]
    breaches: list[Breach]  # open deadline breaches
    candidates: list[Candidate]  # an address to confirm: the wards to choose among
    cancellable: bool
    office_name: str | None  # the post office serving the citizen's ward


def detail(deps: Deps, caller: Caller, consignment_id: str) -> Detail:
    c = consignments.get_consignment(deps, caller, consignment_id)
    with deps.uow() as uow:
        ward = uow.units.ward(c.citizen.address.ward_code)
        prints = uow.prints.history(c.id)
        breaches = [b for b in uow.breaches.for_consignment(c.id) if b.open]  # type: ignore[attr-defined]
    return Detail(
        consignment=c,
        ward=ward,
        prints=prints,
        messages=sms.messages_of(deps, c.id),
        breaches=breaches,
        candidates=address_candidates(deps, c),
        cancellable=c.status in CANCELLABLE,
        office_name=office.name if (office := post_offices.find_office(deps, c.post_office_code or "")) else None,
    )


def address_candidates(deps: Deps, c: Consignment) -> list[Candidate]:
    if not c.awaiting_address_confirmation or not c.address_legacy_text:
        return []
    return addresses.resolve(deps, text=c.address_legacy_text).candidates


def cancel(deps: Deps, caller: Caller, consignment_id: str, *, reason: str) -> Consignment:
    """Cancel while the courier does not have the item yet (``Conflict`` after)."""
    reason = nfc(reason or "")[:500]
    before = consignments.get_consignment(deps, caller, consignment_id)
    if before.status not in CANCELLABLE:
        raise Conflict("The courier already has this consignment; it cannot be cancelled.")
    after = consignments.cancel_consignment(deps, caller, consignment_id, reason=reason or None)
    with deps.uow() as uow:
        _audit(
            uow,
            deps,
            caller,
            "counter.consignment_cancelled",
            f"consignment:{after.id}",
            before={"status": before.status.value},
            after={"status": after.status.value},
            with_reason=bool(reason),
        )
        uow.commit()
    return after


def confirm_address(deps: Deps, caller: Caller, consignment_id: str, *, ward_code: str) -> Consignment:
    """The staff chose the 2025 ward of an address converted from a split commune; booking then goes ahead."""
    before = consignments.get_consignment(deps, caller, consignment_id)
    who = caller.user.full_name if caller.user and caller.user.full_name else caller.actor
    after = consignments.confirm_address(deps, caller, consignment_id, ward_code=(ward_code or "").strip(), by=who)
    with deps.uow() as uow:
        _audit(
            uow,
            deps,
            caller,
            "counter.address_confirmed",
            f"consignment:{after.id}",
            before={"address_status": before.address_status, "ward_code": before.citizen.address.ward_code},
            after={"address_status": after.address_status, "ward_code": after.citizen.address.ward_code},
        )
        uow.commit()
    return after


def wards_for(deps: Deps, province_code: str, q: str | None) -> list[UnitRecord]:
    """Type-ahead for the request screen's ward field (the page's own JSON endpoint)."""
    return addresses.wards(deps, province_code, nfc(q or "") or None, limit=15)


def _audit(uow, deps: Deps, caller: Caller, action: str, subject: str, **details: object) -> None:
    entry = AuditEntry(at=deps.clock.now(), actor=caller.actor, action=action, subject=subject, details=details)
    uow.audit.record(entry)
