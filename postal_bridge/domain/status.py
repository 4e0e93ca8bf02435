"""Consignment kinds, statuses and the one explicit transition table per kind (reference/domain.md §8.2–8.3).

For a ``pickup`` or ``transfer`` the recipient is the agency, so ``delivered`` means the dossier was handed to the
agency (the Biên bản giao nhận was signed); for a ``return`` it means the citizen (or an authorised person) received
the result.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    PICKUP = "pickup"  # citizen's home → one-stop centre (service form 1)
    RETURN = "return"  # one-stop centre → citizen's home (service form 2)
    TRANSFER = "transfer"  # centre ↔ agency (liên thông)


class Status(StrEnum):
    AWAITING_RESULT = "awaiting_result"  # return registered before the result exists
    REQUESTED = "requested"  # stored, not yet booked with the courier
    BOOKING_FAILED = "booking_failed"  # the courier refused the booking; staff must fix and retry or cancel
    BOOKED = "booked"  # the courier accepted; tracking code known
    PICKUP_FAILED = "pickup_failed"  # pickup attempt failed (citizen absent, documents incomplete…)
    PICKED_UP = "picked_up"  # in postal custody (collected, or handed over at the counter)
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_FAILED = "delivery_failed"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"  # invited to collect at the post office
    DELIVERED = "delivered"
    RETURNING_TO_AGENCY = "returning_to_agency"
    RETURNED_TO_AGENCY = "returned_to_agency"  # undeliverable result back at the agency — never one-stop status 10
    CANCELLED = "cancelled"
    LOST_OR_DAMAGED = "lost_or_damaged"


S = Status
TERMINAL: frozenset[Status] = frozenset({S.DELIVERED, S.RETURNED_TO_AGENCY, S.CANCELLED, S.LOST_OR_DAMAGED})
# Cancelling is possible until the courier physically has the item.
CANCELLABLE: frozenset[Status] = frozenset(
    {S.AWAITING_RESULT, S.REQUESTED, S.BOOKING_FAILED, S.BOOKED, S.PICKUP_FAILED}
)
# States in which the courier has already accepted the booking, so a cancel must also reach the courier.
BOOKED_WITH_COURIER: frozenset[Status] = frozenset({S.BOOKED, S.PICKUP_FAILED})

_BEFORE_CUSTODY_PICKUP = {
    S.REQUESTED: {S.BOOKED, S.BOOKING_FAILED, S.CANCELLED},
    S.BOOKING_FAILED: {S.REQUESTED, S.CANCELLED},
    S.BOOKED: {S.PICKUP_FAILED, S.PICKED_UP, S.IN_TRANSIT, S.CANCELLED},
    S.PICKUP_FAILED: {S.BOOKED, S.PICKED_UP, S.CANCELLED},
}
_TO_AGENCY_CUSTODY = {
    S.PICKED_UP: {S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.LOST_OR_DAMAGED},
    S.IN_TRANSIT: {S.OUT_FOR_DELIVERY, S.DELIVERED, S.DELIVERY_FAILED, S.LOST_OR_DAMAGED},
    S.OUT_FOR_DELIVERY: {S.DELIVERED, S.DELIVERY_FAILED, S.LOST_OR_DAMAGED},
    S.DELIVERY_FAILED: {S.OUT_FOR_DELIVERY, S.DELIVERED, S.LOST_OR_DAMAGED},
}

TRANSITIONS: dict[Kind, dict[Status, frozenset[Status]]] = {
    Kind.RETURN: {
        S.AWAITING_RESULT: frozenset({S.REQUESTED, S.CANCELLED}),
        S.REQUESTED: frozenset({S.BOOKED, S.BOOKING_FAILED, S.CANCELLED}),
        S.BOOKING_FAILED: frozenset({S.REQUESTED, S.CANCELLED}),
        # The postal clerk may fail to collect the result at the agency (closed, result not ready after all).
        S.BOOKED: frozenset({S.PICKUP_FAILED, S.PICKED_UP, S.IN_TRANSIT, S.CANCELLED}),
        S.PICKUP_FAILED: frozenset({S.BOOKED, S.PICKED_UP, S.CANCELLED}),
        S.PICKED_UP: frozenset(
            {
                S.IN_TRANSIT,
                S.OUT_FOR_DELIVERY,
                S.DELIVERY_FAILED,
                S.AVAILABLE_FOR_PICKUP,
                S.DELIVERED,
                S.RETURNING_TO_AGENCY,
                S.LOST_OR_DAMAGED,
            }
        ),
        S.IN_TRANSIT: frozenset(
            {
                S.OUT_FOR_DELIVERY,
                S.DELIVERY_FAILED,
                S.AVAILABLE_FOR_PICKUP,
                S.DELIVERED,
                S.RETURNING_TO_AGENCY,
                S.LOST_OR_DAMAGED,
            }
        ),
        S.OUT_FOR_DELIVERY: frozenset(
            {S.DELIVERED, S.DELIVERY_FAILED, S.AVAILABLE_FOR_PICKUP, S.RETURNING_TO_AGENCY, S.LOST_OR_DAMAGED}
        ),
        S.DELIVERY_FAILED: frozenset(
            {S.OUT_FOR_DELIVERY, S.AVAILABLE_FOR_PICKUP, S.DELIVERED, S.RETURNING_TO_AGENCY, S.LOST_OR_DAMAGED}
        ),
        S.AVAILABLE_FOR_PICKUP: frozenset({S.DELIVERED, S.OUT_FOR_DELIVERY, S.RETURNING_TO_AGENCY, S.LOST_OR_DAMAGED}),
        S.RETURNING_TO_AGENCY: frozenset({S.RETURNED_TO_AGENCY, S.LOST_OR_DAMAGED}),
    },
    Kind.PICKUP: {k: frozenset(v) for k, v in {**_BEFORE_CUSTODY_PICKUP, **_TO_AGENCY_CUSTODY}.items()},
    Kind.TRANSFER: {k: frozenset(v) for k, v in {**_BEFORE_CUSTODY_PICKUP, **_TO_AGENCY_CUSTODY}.items()},
}

INITIAL: dict[Kind, frozenset[Status]] = {
    Kind.RETURN: frozenset({S.REQUESTED, S.AWAITING_RESULT}),
    Kind.PICKUP: frozenset({S.REQUESTED}),
    Kind.TRANSFER: frozenset({S.REQUESTED}),
}


def allowed(kind: Kind, current: Status, target: Status) -> bool:
    return target in TRANSITIONS[kind].get(current, frozenset())


# States a courier may pass through without telling us (a poll that shows only the current state).
IMPLIED_STEPS: tuple[Status, ...] = (S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY)


def implied_path(kind: Kind, current: Status, target: Status) -> list[Status] | None:
    """The shortest forward path from ``current`` to ``target`` through ``IMPLIED_STEPS`` only, target included.

    ``None`` when ``target`` is not reachable that way (it would be a regression or a jump the law forbids).
    """
    if allowed(kind, current, target):
        return [target]
    frontier: list[tuple[Status, list[Status]]] = [(current, [])]
    seen = {current}
    while frontier:
        nxt = []
        for state, path in frontier:
            for step in IMPLIED_STEPS:
                if step not in seen and allowed(kind, state, step):
                    if allowed(kind, step, target):
                        return [*path, step, target]
                    seen.add(step)
                    nxt.append((step, [*path, step]))
        frontier = nxt
    return None


# Vietnamese words for people (tracking page, labels); English stays in the API.
STATUS_LABELS_VI: dict[Status, str] = {
    S.AWAITING_RESULT: "Chờ có kết quả",
    S.REQUESTED: "Đã đăng ký gửi",
    S.BOOKING_FAILED: "Chưa đặt được bưu gửi",
    S.BOOKED: "Đã tạo bưu gửi",
    S.PICKUP_FAILED: "Nhận hồ sơ không thành công",
    S.PICKED_UP: "Bưu điện đã nhận",
    S.IN_TRANSIT: "Đang vận chuyển",
    S.OUT_FOR_DELIVERY: "Đang phát",
    S.DELIVERY_FAILED: "Phát không thành công",
    S.AVAILABLE_FOR_PICKUP: "Mời nhận tại bưu cục",
    S.DELIVERED: "Đã phát thành công",
    S.RETURNING_TO_AGENCY: "Đang chuyển hoàn về cơ quan",
    S.RETURNED_TO_AGENCY: "Đã chuyển hoàn về cơ quan",
    S.CANCELLED: "Đã hủy",
    S.LOST_OR_DAMAGED: "Thất lạc / hư hỏng",
}
