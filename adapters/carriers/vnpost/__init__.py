"""VNPost (Vietnam Post, the designated public-postal operator): one courier code ``vnpost``, three API surfaces.

The agency's ``api`` setting picks the surface (carriers.md §2.1):
- ``donhang`` (default) — the legacy partner API ``donhang.vnpost.vn`` (``donhang.py``);
- ``myvnpost`` — the MyVNPost ``customer-partner`` API (``myvnpost.py``);
- ``ngsp`` — the NGSP/MITC gateway used by public administration (OpenCPS), with a paged tracking feed (``ngsp.py``).

``VNPostCarrier(settings, env)`` builds that surface and delegates every capability to it. The *instance*'s
``capabilities`` are the chosen surface's; the *class* attribute is the union of all three, because the service layer
asks the class which courier codes can ever poll, push or feed. Settings per surface are documented in each module;
status tables are in ``status.py``. VNPost has no label endpoint on any surface: ``label`` is NotSupported and the
bridge renders its own label with the VNPost item code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.carriers.base import (
    CarrierAdapterBase,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierEnv,
    ConsignmentRequest,
    ConsignmentResult,
    LabelDocument,
    Quote,
    QuoteRequest,
    SettingError,
    TrackingEvent,
    WebhookRequest,
)
from adapters.carriers.vnpost.common import CODE, NAME, VNPostSurface
from adapters.carriers.vnpost.donhang import DonhangCarrier
from adapters.carriers.vnpost.myvnpost import MyVNPostCarrier
from adapters.carriers.vnpost.ngsp import NGSPCarrier

SURFACES: dict[str, type[VNPostSurface]] = {"donhang": DonhangCarrier, "myvnpost": MyVNPostCarrier, "ngsp": NGSPCarrier}

__all__ = ["SURFACES", "DonhangCarrier", "MyVNPostCarrier", "NGSPCarrier", "VNPostCarrier"]


class VNPostCarrier(CarrierAdapterBase):
    code = CODE
    name = NAME
    capabilities = frozenset().union(*(s.capabilities for s in SURFACES.values()))
    secret_settings = CarrierAdapterBase.secret_settings | {"client_secret", "password", "webhook_secret"}

    def __init__(self, settings: Mapping[str, Any] | None = None, env: CarrierEnv | None = None, *, session=None):
        super().__init__(settings, env)
        self.api = str(self.settings.get("api") or "donhang").strip().lower()
        surface = SURFACES.get(self.api)
        if surface is None:
            raise SettingError(f"{CODE}: setting 'api' must be one of {', '.join(SURFACES)}, not {self.api!r}")
        self.impl: VNPostSurface = surface(self.settings, self.env, session=session)
        self.capabilities = self.impl.capabilities  # this account's surface, shadowing the class-wide union
        self.services = self.impl.services

    @property
    def account(self) -> str:
        return self.impl.account

    def quote(self, req: QuoteRequest) -> list[Quote]:
        return self.impl.quote(req)

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        return self.impl.create(req)

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None:
        return self.impl.find_by_reference(client_ref)

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        return self.impl.cancel(carrier_ref, reason)

    def label(self, carrier_refs: list[str], fmt: str = "pdf") -> LabelDocument:
        return self.impl.label(carrier_refs, fmt)

    def track(self, carrier_ref: str) -> list[TrackingEvent]:
        return self.impl.track(carrier_ref)

    def track_feed(self, cursor: str | None) -> tuple[list[TrackingEvent], str | None]:
        return self.impl.track_feed(cursor)

    def verify_webhook(self, req: WebhookRequest) -> None:
        return self.impl.verify_webhook(req)

    def parse_webhook(self, req: WebhookRequest) -> list[TrackingEvent]:
        return self.impl.parse_webhook(req)

    def webhook_ack(self, ok: bool, error: str | None = None) -> tuple[int, str, str]:
        return self.impl.webhook_ack(ok, error)

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes:
        return self.impl.resolve_address(addr)
