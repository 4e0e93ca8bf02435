"""The sandbox courier: books in-process and plays a realistic lifecycle, for demos and tests.

It is a real adapter behind the same interface as the couriers, but holds no state at all: the booking time, kind and
scenario are encoded in the courier reference it returns, so ``track`` can recompute the events from the clock in any
process (web, worker, scheduler) and after restarts. Item codes are S10-valid with the ``ZZ`` service indicator
(reserved for domestic use), derived from the client reference, so booking twice with one reference gives one code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.carriers.base import (
    CarrierAdapterBase,
    CarrierEnv,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    CourierStatus,
    InvalidState,
    Quote,
    QuoteRequest,
    TrackingEvent,
)
from postal_bridge.domain import s10
from postal_bridge.domain.carriers import Capability

CS = CourierStatus
# (raw code, unified status, Vietnamese text, location hint) in order; one step apart each.
_RETURN = {
    "delivered": [
        ("PICKED_UP", CS.PICKED_UP, "Bưu điện đã nhận kết quả tại Bộ phận Một cửa", "Bộ phận Một cửa"),
        ("IN_TRANSIT", CS.IN_TRANSIT, "Đã đến bưu cục phát", "Bưu cục phát"),
        ("OUT_FOR_DELIVERY", CS.OUT_FOR_DELIVERY, "Bưu tá đang đi phát", "Bưu cục phát"),
        ("DELIVERED", CS.DELIVERED, "Đã phát thành công – đã kiểm tra CCCD", "Địa chỉ người nhận"),
    ],
    "failed_then_delivered": [
        ("PICKED_UP", CS.PICKED_UP, "Bưu điện đã nhận kết quả tại Bộ phận Một cửa", "Bộ phận Một cửa"),
        ("IN_TRANSIT", CS.IN_TRANSIT, "Đã đến bưu cục phát", "Bưu cục phát"),
        ("OUT_FOR_DELIVERY", CS.OUT_FOR_DELIVERY, "Bưu tá đang đi phát", "Bưu cục phát"),
        ("FAILED_NOT_HOME", CS.DELIVERY_FAILED, "Phát không thành công: người nhận vắng nhà", "Địa chỉ người nhận"),
        ("OUT_FOR_DELIVERY", CS.OUT_FOR_DELIVERY, "Phát lại lần 2", "Bưu cục phát"),
        ("DELIVERED", CS.DELIVERED, "Đã phát thành công – đã kiểm tra CCCD", "Địa chỉ người nhận"),
    ],
    "returned": [
        ("PICKED_UP", CS.PICKED_UP, "Bưu điện đã nhận kết quả tại Bộ phận Một cửa", "Bộ phận Một cửa"),
        ("IN_TRANSIT", CS.IN_TRANSIT, "Đã đến bưu cục phát", "Bưu cục phát"),
        ("OUT_FOR_DELIVERY", CS.OUT_FOR_DELIVERY, "Bưu tá đang đi phát", "Bưu cục phát"),
        ("FAILED_NOT_HOME", CS.DELIVERY_FAILED, "Phát không thành công: người nhận vắng nhà", "Địa chỉ người nhận"),
        ("INVITED", CS.AVAILABLE_FOR_PICKUP, "Đã mời người nhận đến bưu cục (lần 1 và 2)", "Bưu cục phát"),
        ("RETURNING", CS.RETURN_IN_PROGRESS, "Quá hạn mời nhận – chuyển hoàn về cơ quan", "Bưu cục phát"),
        ("RETURNED", CS.RETURNED, "Đã chuyển hoàn kết quả về Bộ phận Một cửa", "Bộ phận Một cửa"),
    ],
}
_TO_AGENCY = {
    "delivered": [
        ("PICKED_UP", CS.PICKED_UP, "Bưu tá đã nhận hồ sơ, niêm phong trước mặt người gửi", "Địa chỉ người gửi"),
        ("IN_TRANSIT", CS.IN_TRANSIT, "Đang chuyển hồ sơ đến Bộ phận Một cửa", "Bưu cục"),
        ("OUT_FOR_DELIVERY", CS.OUT_FOR_DELIVERY, "Đang giao hồ sơ cho Bộ phận Một cửa", "Bưu cục"),
        ("DELIVERED", CS.DELIVERED, "Đã bàn giao hồ sơ, ký biên bản giao nhận", "Bộ phận Một cửa"),
    ],
}
_TO_AGENCY["failed_then_delivered"] = [
    ("PICKUP_FAILED", CS.PICKUP_FAILED, "Nhận hồ sơ không thành công: người gửi vắng nhà", "Địa chỉ người gửi"),
    ("SCHEDULED", CS.AWAITING_PICKUP, "Đã hẹn lại lịch nhận hồ sơ", "Bưu cục"),
    *_TO_AGENCY["delivered"],
]
_TO_AGENCY["returned"] = _TO_AGENCY["delivered"]
SCENARIOS = tuple(_RETURN)


@dataclass(frozen=True)
class _Ref:
    tracking_code: str
    kind: str
    scenario: str
    booked_at: datetime

    def encode(self) -> str:
        return f"{self.tracking_code}|{self.kind}|{self.scenario}|{self.booked_at.timestamp():.3f}"

    @classmethod
    def decode(cls, raw: str) -> _Ref:
        code, kind, scenario, ts = raw.split("|")
        return cls(code, kind, scenario, datetime.fromtimestamp(float(ts), UTC))


class SandboxCarrier(CarrierAdapterBase):
    code = "sandbox"
    name = "Sandbox"
    capabilities = frozenset({Capability.CREATE, Capability.CANCEL, Capability.TRACK_POLL, Capability.QUOTE})
    services = ("standard", "express")

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        env: CarrierEnv | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        step_seconds: float = 10.0,
    ) -> None:
        super().__init__(settings, env)
        self._now = now or self.env.now
        self.step = timedelta(seconds=float(self.settings.get("step_seconds", step_seconds)))

    def quote(self, req: QuoteRequest) -> list[Quote]:
        """A plausible tariff: same province next working day, otherwise two to three days."""
        same_province = req.sender.province_code == req.recipient.province_code
        wanted = [req.service] if req.service else list(self.services)
        return [
            Quote(
                carrier=self.code,
                service=s,
                fee_vnd=_fee(req.weight_g, s) + (0 if same_province else 8_000),
                promised_days=(1 if same_province else 2) if s == "express" else (2 if same_province else 3),
            )
            for s in wanted
            if s in self.services
        ]

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        scenario = req.options.get("sandbox_scenario", "delivered")
        if scenario not in SCENARIOS:
            raise CarrierValidationError(self.code, f"unknown sandbox_scenario {scenario!r}")
        if req.weight_g > 30_000:
            raise CarrierValidationError(self.code, "parcel heavier than 30 kg", field_errors={"weight_g": "max 30000"})
        serial = int(hashlib.sha256(req.client_ref.encode()).hexdigest(), 16) % 100_000_000
        code = s10.make("ZZ", serial, "VN")
        ref = _Ref(code, req.kind, scenario, self._now())
        return ConsignmentResult(
            carrier=self.code,
            carrier_ref=code,
            client_ref=req.client_ref,
            carrier_internal_id=ref.encode(),
            fee_total_vnd=_fee(req.weight_g, req.service),
        )

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        """Accepted until the first pickup event has happened, as a real courier would."""
        ref = _Ref.decode(carrier_ref)
        if any(e.status == CourierStatus.PICKED_UP for e in self._played(ref)):
            raise InvalidState(self.code, "the item was already picked up")

    def track(self, carrier_ref: str) -> list[TrackingEvent]:
        """Every event whose time has come, recomputed from the booking time and scenario."""
        return self._played(_Ref.decode(carrier_ref))

    def _played(self, ref: _Ref) -> list[TrackingEvent]:
        script = (_RETURN if ref.kind == "return" else _TO_AGENCY)[ref.scenario]
        now = self._now()
        events = []
        for i, (raw, status, text, where) in enumerate(script, start=1):
            at = ref.booked_at + self.step * i
            if at > now:
                break
            events.append(
                TrackingEvent(
                    carrier=self.code,
                    carrier_ref=ref.tracking_code,
                    occurred_at=at,
                    raw_code=raw,
                    status=status,
                    dedup_key=f"{ref.tracking_code}|{i}|{raw}",
                    raw_text=text,
                    location=where,
                    reason="consignee_not_home" if raw == "FAILED_NOT_HOME" else None,
                )
            )
        return events


def _fee(weight_g: int, service: str) -> int:
    """A plausible tariff for demos: 22,000 đ up to 500 g, then 3,500 đ per extra 500 g; express × 1.5."""
    steps = max(0, (weight_g - 1) // 500)
    fee = 22_000 + 3_500 * steps
    return int(fee * 1.5) if service == "express" else fee
