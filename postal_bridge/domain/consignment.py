"""The consignment aggregate: one physical item on one leg, its status and its append-only event log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.errors import Conflict, IllegalTransition
from postal_bridge.domain.status import BOOKED_WITH_COURIER, CANCELLABLE, INITIAL, TERMINAL, Kind, Status, allowed


class Source(StrEnum):
    """Where a status change came from."""

    API = "api"
    COURIER_WEBHOOK = "courier_webhook"
    COURIER_POLL = "courier_poll"
    SCAN = "scan"
    SYSTEM = "system"


@dataclass(frozen=True)
class DossierLink:
    code: str | None
    procedure_code: str | None = None
    procedure_name: str | None = None
    appointment_date: date | None = None


@dataclass(frozen=True)
class Document:
    """One paper in the package: its name, whether it is an original, a certified copy or a copy, and how many."""

    name: str
    kind: str = "copy"  # original (bản chính) | certified_copy (bản chứng thực) | copy (bản sao)
    quantity: int = 1


DOCUMENT_KINDS = ("original", "certified_copy", "copy")


@dataclass(frozen=True)
class Parcel:
    weight_g: int
    contents: str
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class ConsignmentEvent:
    """One entry of the append-only log. ``previous_status`` is ``None`` for the first entry."""

    status: Status
    occurred_at: datetime
    source: Source
    previous_status: Status | None = None
    actor: str | None = None
    location: str | None = None
    description: str | None = None
    seq: int = 0


@dataclass
class Consignment:
    id: str
    agency_id: str
    kind: Kind
    status: Status
    carrier: str
    service: str
    dossier: DossierLink
    citizen: Party
    parcel: Parcel
    tracking_token: str
    created_at: datetime
    cod_vnd: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    api_key_id: str | None = None
    tracking_code: str | None = None
    carrier_ref: str | None = None  # the courier's internal id, if different from the tracking code
    booking_attempt: int = 1
    postage_vnd: int | None = None  # the courier's price for this leg, once booked
    # Where the address came from: exact (2025 codes given or recognised), suggested (a person must confirm, e.g. a
    # split legacy commune: booking and label printing wait), confirmed (a person chose).
    address_status: str = "exact"
    address_legacy_text: str | None = None
    address_confirmed_by: str | None = None
    address_confirmed_at: datetime | None = None
    geo_lat: float | None = None
    geo_lon: float | None = None
    geo_approximate: bool | None = None
    route_class: str | None = None
    j_date: date | None = None  # J: the day the post accepts the item (estimated until it does)
    due_date: date | None = None  # J + n working days
    fee_vnd: int | None = None  # our tariff's estimate; the courier's price is postage_vnd
    payer: str | None = None
    post_office_code: str | None = None
    result_ready_at: datetime | None = None  # the one-stop system said the result exists (status 9)
    agency_outcome: str | None = None  # pickups: accepted | supplement_required | rejected
    agency_outcome_at: datetime | None = None
    personal_data_purged_at: datetime | None = None  # retention ended: name, phone and street line erased
    # The citizen's own ID as the dossier system knows it: its type and last 4 characters only, never the number.
    # A clerk delivering a result to the citizen in person checks the document shown against it.
    citizen_id_type: str | None = None  # cccd | cmnd | passport
    citizen_id_last4: str | None = None
    version: int = 0
    events: list[ConsignmentEvent] = field(default_factory=list)
    # Events appended since load; the unit of work persists them and turns them into outbox rows.
    new_events: list[ConsignmentEvent] = field(default_factory=list, repr=False)

    @classmethod
    def register(
        cls, *, initial: Status = Status.REQUESTED, occurred_at: datetime, actor: str | None, **fields: Any
    ) -> Consignment:
        """Create a new consignment in one of its kind's initial statuses, with its first event."""
        c = cls(status=initial, created_at=occurred_at, **fields)
        if initial not in INITIAL[c.kind]:
            raise Conflict(f"A {c.kind} consignment cannot start as '{initial}'.")
        c._record(initial, None, occurred_at, Source.API, actor, None, "Consignment registered")
        return c

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def client_ref(self) -> str:
        """Deterministic courier reference for this leg and booking attempt (≤ 32 chars of [A-Za-z0-9-])."""
        return f"PB-{self.id.replace('-', '')[:20]}-{self.booking_attempt}"

    def can_transition(self, target: Status) -> bool:
        return allowed(self.kind, self.status, target)

    def transition(
        self,
        target: Status,
        *,
        occurred_at: datetime,
        source: Source,
        actor: str | None = None,
        location: str | None = None,
        description: str | None = None,
    ) -> ConsignmentEvent:
        if not self.can_transition(target):
            raise IllegalTransition(self.kind, self.status, target)
        previous = self.status
        self.status = target
        return self._record(target, previous, occurred_at, source, actor, location, description)

    def mark_booked(
        self, *, tracking_code: str, carrier_ref: str | None, occurred_at: datetime, postage_vnd: int | None = None
    ) -> ConsignmentEvent:
        event = self.transition(
            Status.BOOKED, occurred_at=occurred_at, source=Source.SYSTEM, description="Booked with the courier"
        )
        self.tracking_code = tracking_code
        self.carrier_ref = carrier_ref
        self.postage_vnd = postage_vnd
        return event

    def mark_booking_failed(self, *, reason: str, occurred_at: datetime) -> ConsignmentEvent:
        return self.transition(Status.BOOKING_FAILED, occurred_at=occurred_at, source=Source.SYSTEM, description=reason)

    @property
    def awaiting_address_confirmation(self) -> bool:
        return self.address_status == "suggested"

    def confirm_address(self, address: Address, *, by: str, at: datetime) -> None:
        """A person chose the 2025 ward for an address converted from a split commune; booking may go ahead."""
        if self.address_status != "suggested":
            raise Conflict("This consignment's address needs no confirmation.")
        if self.status not in (Status.REQUESTED, Status.AWAITING_RESULT):
            raise Conflict(f"The address cannot change in status '{self.status}'.")
        self.citizen = Party(name=self.citizen.name, phone=self.citizen.phone, address=address)
        self.address_status = "confirmed"
        self.address_confirmed_by = by
        self.address_confirmed_at = at
        self.version += 1

    def cancel(self, *, occurred_at: datetime, actor: str | None, reason: str | None = None) -> bool:
        """Cancel; returns True when the courier also has to be told. Refused once the courier has the item."""
        if self.status == Status.CANCELLED:
            return False
        if self.status not in CANCELLABLE:
            raise Conflict(
                f"The courier already has this consignment (status '{self.status}'); it cannot be cancelled."
            )
        had_courier = self.status in BOOKED_WITH_COURIER
        self.transition(
            Status.CANCELLED, occurred_at=occurred_at, source=Source.API, actor=actor, description=reason or "Cancelled"
        )
        return had_courier

    def _record(
        self,
        status: Status,
        previous: Status | None,
        occurred_at: datetime,
        source: Source,
        actor: str | None,
        location: str | None,
        description: str | None,
    ) -> ConsignmentEvent:
        self.version += 1
        event = ConsignmentEvent(
            status=status,
            occurred_at=occurred_at,
            source=source,
            previous_status=previous,
            actor=actor,
            location=location,
            description=description,
            seq=len(self.events) + 1,
        )
        self.events.append(event)
        self.new_events.append(event)
        return event
