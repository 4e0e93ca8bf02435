"""Who is calling when a postal clerk (nhân viên bưu chính) scans or records an outcome, and what they may see.

Clerks belong to a **post office** (bưu cục), not to an agency. A clerk sees and acts on the consignments of their
office: those routed to it (``consignments.post_office_code``) and those whose agency sits in a ward the office
serves (``post_office_wards``) — that is where the clerk collects results and hands dossiers over. Anything else is
answered exactly like an unknown item, so another office's items are never revealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from postal_bridge.domain.address import Ward
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.errors import Forbidden
from postal_bridge.domain.model import Agency, Role, User
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.scans import KIND_LABELS_VI, ItemRow, ItemSummary
from postal_bridge.domain.status import STATUS_LABELS_VI


@dataclass(frozen=True)
class ClerkCaller:
    user_id: str
    username: str
    post_office_code: str

    @property
    def actor(self) -> str:  # what events and the audit log record as "who"
        return f"user:{self.username}"


def clerk_caller(user: User) -> ClerkCaller:
    """The clerk behind a signed-in account (role ``clerk``, attached to a post office)."""
    if user.role != Role.CLERK or not user.post_office_code or not user.active:
        raise Forbidden("This account is not an active postal clerk's.")
    return ClerkCaller(user_id=user.id, username=user.username, post_office_code=user.post_office_code)


def office_name(uow: UnitOfWork, code: str) -> str:
    """The post office's name for event locations (its code when the registry does not know it)."""
    return uow.clerk_scope.office_name(code) or code


class Summaries:
    """Builds the clerk-facing summary of items, reading each agency and ward once per unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._agencies: dict[str, Agency | None] = {}
        self._wards: dict[str, Ward | None] = {}

    def agency(self, agency_id: str) -> Agency | None:
        if agency_id not in self._agencies:
            self._agencies[agency_id] = self.uow.agencies.get(agency_id)
        return self._agencies[agency_id]

    def ward(self, code: str) -> Ward | None:
        if code not in self._wards:
            self._wards[code] = self.uow.units.ward(code)
        return self._wards[code]

    def of(self, item: Consignment | ItemRow, next_actions: tuple[str, ...] = ()) -> ItemSummary:
        c = item if isinstance(item, ItemRow) else ItemRow.of(item)
        agency = self.agency(c.agency_id)
        ward = self.ward(c.ward_code)
        return ItemSummary(
            consignment_id=c.id,
            tracking_code=c.tracking_code,
            kind=c.kind.value,
            kind_label=KIND_LABELS_VI[c.kind],
            status=c.status.value,
            status_label=STATUS_LABELS_VI[c.status],
            dossier_code=c.dossier_code,
            area=f"{ward.name}, {ward.province_name}" if ward else "",
            recipient=c.masked_name,
            agency_code=agency.code if agency else "",
            agency_name=agency.name if agency else "",
            next_actions=next_actions,
        )


def visible_consignment(uow: UnitOfWork, caller: ClerkCaller, consignment_id: str) -> Consignment | None:
    """The consignment when the clerk's office may see it; None otherwise (exactly like an unknown id)."""
    if not isinstance(consignment_id, str) or not consignment_id:
        return None
    if consignment_id not in uow.clerk_scope.visible(caller.post_office_code, [consignment_id]):
        return None
    return uow.consignments.get(consignment_id)
