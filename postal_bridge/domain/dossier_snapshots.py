"""What the one-stop dossier system tells us about a dossier before anyone asks for a consignment: the procedure, the
appointment date, the citizen (name, phone, address) and how they want to file and receive it (the *snapshot*).

The counter types or scans the dossier code and the request screen is filled from the snapshot, never retyped (WCAG
3.3.7). The snapshot is personal data: the citizen's identity number is never stored whole — only its type and last
4 characters, as a clerk checks them at the door — and the retention purge erases the name, phone and street line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from postal_bridge.domain.status import Kind


class Preference(StrEnum):
    """How the citizen asked to file and receive (Decision 45/2016 Art 5: the three service forms), or neither."""

    RETURN = "return"  # receive the result at home (form 2)
    PICKUP = "pickup"  # the post picks the dossier up at home (form 1)
    BOTH = "both"  # form 3: a linked pickup and return
    COUNTER = "counter"  # files and collects at the counter: no postal service asked for yet

    @property
    def kinds(self) -> tuple[Kind, ...]:
        return {
            Preference.RETURN: (Kind.RETURN,),
            Preference.PICKUP: (Kind.PICKUP,),
            Preference.BOTH: (Kind.PICKUP, Kind.RETURN),
            Preference.COUNTER: (),
        }[self]


@dataclass(frozen=True)
class SnapshotCommand:
    """A ``PUT /api/v1/dossiers/<code>`` body, shaped by the API schema, not yet checked against the domain."""

    code: str
    citizen_name: str
    citizen_phone: str
    address_line: str
    ward_code: str
    province_code: str
    procedure_code: str | None = None
    procedure_name: str | None = None
    appointment_date: date | None = None
    id_type: str | None = None  # cccd | cmnd | passport
    id_number: str | None = None  # the whole number as the dossier system has it; only its last 4 are kept
    preference: str = Preference.COUNTER.value


@dataclass(frozen=True)
class DossierSnapshot:
    agency_id: str
    code: str
    citizen_name: str
    citizen_phone: str  # E.164; "" once purged
    address_line: str
    ward_code: str
    province_code: str
    received_at: datetime  # the first PUT
    updated_at: datetime  # the last PUT that changed something
    procedure_code: str | None = None
    procedure_name: str | None = None
    appointment_date: date | None = None
    citizen_id_type: str | None = None
    citizen_id_last4: str | None = None
    preference: Preference = Preference.COUNTER
    revision: int = 1  # 1 when created, +1 for every PUT that changed something
    personal_data_purged_at: datetime | None = None

    @property
    def purged(self) -> bool:
        return self.personal_data_purged_at is not None

    def content(self) -> tuple:
        """Everything the dossier system sent (as stored): equal content means a PUT changes nothing."""
        return (
            self.code,
            self.citizen_name,
            self.citizen_phone,
            self.address_line,
            self.ward_code,
            self.province_code,
            self.procedure_code,
            self.procedure_name,
            self.appointment_date,
            self.citizen_id_type,
            self.citizen_id_last4,
            self.preference.value,
        )


CONTENT_FIELDS = (
    "code",
    "citizen.name",
    "citizen.phone",
    "citizen.address.line",
    "citizen.address.ward_code",
    "citizen.address.province_code",
    "procedure_code",
    "procedure_name",
    "appointment_date",
    "citizen.id_type",
    "citizen.id_last4",
    "preference",
)


def changed_fields(before: DossierSnapshot | None, after: DossierSnapshot) -> list[str]:
    """The names (never the values: they are personal data) of what a PUT changed, for the audit log."""
    if before is None:
        return list(CONTENT_FIELDS)
    pairs = zip(CONTENT_FIELDS, before.content(), after.content(), strict=True)
    return [name for name, old, new in pairs if old != new]
