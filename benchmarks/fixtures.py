"""What the benchmarks seed: one agency with a dossier-system API key, a VNPost (donhang) account that takes pushes,
one post office and its clerk, and consignments created straight through the repository (fast, no courier calls)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from postal_bridge.domain import s10
from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.consignment import Consignment, DossierLink, Parcel, Source
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.post_offices import PostOffice
from postal_bridge.domain.status import Kind, Status
from postal_bridge.services import agencies, carriers
from postal_bridge.services.clerk_scope import ClerkCaller

OFFICE = "BENCH-01"
AGENCY = "HCC-BENCH"
VNPOST_SECRET = "bench-donhang-secret"
VNPOST_SETTINGS = {
    "api": "donhang",
    "base_url": "http://127.0.0.1:9/api/api",  # never called: the seeded items are already booked
    "username": "bench",
    "password": "bench-password",
    "customer_code": "BENCH",
    "webhook_secret": VNPOST_SECRET,
    "sign_algorithm": "hmac-sha256",
    "service_codes": "standard=BK,express=EMS",
}


class Seed:
    """The agency, its API key (``key``: the raw bearer key) and the office's clerk."""

    def __init__(self, deps, *, callback_url: str | None) -> None:
        self.deps = deps
        self.agency = agencies.register_agency(
            deps,
            code=AGENCY,
            name="Trung tâm Phục vụ hành chính công (benchmark)",
            phone="02438253536",
            line="Số 1",
            ward_code="00004",
            province_code="01",
        )
        issued = agencies.create_api_key(deps, agency_code=AGENCY, name="bench", callback_url=callback_url)
        self.key = issued.api_key
        self.key_id = issued.key.id
        carriers.configure_carrier(deps, agency_code=AGENCY, carrier="vnpost", values=VNPOST_SETTINGS)
        deps.post_offices.upsert(
            PostOffice(OFFICE, "Bưu cục benchmark", "Số 2", "00004", "01", 21.037, 105.836, "", frozenset({"00004"}))
        )
        self.clerk = ClerkCaller("u-bench", "bench.clerk", OFFICE)
        self._serial = 10_000_000

    def items(
        self, n: int, *, status: Status, carrier: str = "vnpost", chunk: int = 1000, at: datetime | None = None
    ) -> list[str]:
        """``n`` returns booked at ``at`` (default: a day ago) and moved on to ``status``, routed to the office; their
        tracking codes."""
        start = at or datetime.now(UTC) - timedelta(days=1)
        codes: list[str] = []
        for first in range(0, n, chunk):
            with self.deps.uow() as uow:
                for _ in range(min(chunk, n - first)):
                    self._serial += 1
                    code = s10.make("ZZ", self._serial)
                    c = Consignment.register(
                        initial=Status.REQUESTED,
                        occurred_at=start,
                        actor="bench",
                        id=str(uuid.uuid4()),
                        agency_id=self.agency.id,
                        api_key_id=self.key_id,
                        kind=Kind.RETURN,
                        carrier=carrier,
                        service="standard",
                        dossier=DossierLink(code="000.00.12.H56-261115-0007"),
                        citizen=Party("Nguyễn Thị Hằng", Phone("+84912345678"), Address("Số 12", "00004", "01")),
                        parcel=Parcel(weight_g=250, contents="Kết quả"),
                        tracking_token=uuid.uuid4().hex[:11],
                        post_office_code=OFFICE,
                    )
                    c.mark_booked(tracking_code=code, carrier_ref=code, occurred_at=start)
                    if status != Status.BOOKED:
                        c.transition(status, occurred_at=start, source=Source.SCAN, actor="bench")
                    c.new_events.clear()
                    uow.consignments.add(c)
                    codes.append(code)
                uow.commit()
        return codes
