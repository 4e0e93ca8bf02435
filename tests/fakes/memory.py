"""In-memory fakes of the service ports: a unit of work over dicts, a settable clock, a recording job queue and
webhook sender, a fake label renderer and a scripted courier. No sockets, no database.

The repositories mirror ``postal_bridge/storage/repositories.py``: the same claim condition and ordering groups for
the outbox, optimistic versions for consignments, the idempotency take-over rule and event ``seq`` persistence.

Transactions: every unit of work stages its writes in an overlay over the shared ``MemoryStore`` (reads see the
committed state plus the unit's own writes, like READ COMMITTED). ``commit()`` copies the staged rows into the store;
leaving the ``with`` block without a commit discards them. Values are deep-copied in and out, so a caller mutating an
object it got back never changes the store behind the unit of work's back.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from postal_bridge.domain.address import Ward
from postal_bridge.domain.alerts import Alert, WebhookRecord
from postal_bridge.domain.carriers import (
    Capability,
    CarrierError,
    ConsignmentRequest,
    ConsignmentResult,
    CourierStatus,
    DuplicateReference,
    InvalidState,
    TrackingEvent,
)
from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.domain.consignment import Consignment, ConsignmentEvent
from postal_bridge.domain.errors import Conflict
from postal_bridge.domain.labels import LabelContent
from postal_bridge.domain.model import (
    Agency,
    ApiKey,
    CarrierConfig,
    Handover,
    IdempotencyRecord,
    OutboxItem,
    OutboxKind,
    OutboxState,
    PrintRecord,
)
from postal_bridge.domain.sms import (
    SmsMessage,
    SmsReport,
    SmsReportInvalid,
    SmsReportRequest,
    SmsSendResult,
    SmsSettings,
    SmsStatus,
)
from postal_bridge.domain.status import TERMINAL
from postal_bridge.domain.webhooks import DeliveryResult, WebhookDelivery
from postal_bridge.services import agencies
from postal_bridge.services.agencies import Caller
from postal_bridge.services.carriers import StaticCarrierRegistry
from postal_bridge.services.consignments import StoredResponse, create_consignment
from postal_bridge.services.deps import Deps

# --------------------------------------------------------------------------------------------------------------------
# Reference data

SEED_WARDS: tuple[Ward, ...] = (
    Ward("00004", "Phường Ba Đình", "01", "Thành phố Hà Nội", 21.0386, 105.838),
    Ward("00008", "Phường Ngọc Hà", "01", "Thành phố Hà Nội", 21.0381, 105.816),
    Ward("00070", "Phường Hoàn Kiếm", "01", "Thành phố Hà Nội", 21.032, 105.85),
    Ward("02215", "Phường Minh Xuân", "08", "Tỉnh Tuyên Quang", 21.8257, 105.185),
    Ward("25747", "Phường Thủ Dầu Một", "79", "Thành phố Hồ Chí Minh", 10.969, 106.661),
)

T0 = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


class _Deleted:
    def __repr__(self) -> str:
        return "<deleted>"


_DELETED = _Deleted()

TABLES = (
    "agencies",
    "api_keys",
    "consignments",
    "consignment_events",
    "carrier_events",
    "carrier_settings",
    "cursors",
    "outbox",
    "idempotency",
    "labels",
    "handovers",
    "prints",
    "alerts",
    "sms_messages",
    "sms_settings",
)


@dataclass
class ConsignmentRow:
    """The stored consignment: the aggregate without its event log (kept in ``consignment_events``)."""

    consignment: Consignment
    last_polled_at: datetime | None = None
    next_poll_at: datetime | None = None
    poll_failures: int = 0


@dataclass
class CarrierEventRow:
    id: int
    consignment_id: str | None
    event: TrackingEvent
    received_at: datetime
    processed: bool = False
    applied: bool = False

    @property
    def carrier(self) -> str:
        return self.event.carrier

    @property
    def dedup_key(self) -> str:
        return self.event.dedup_key


@dataclass
class LabelRow:
    consignment_id: str
    tracking_code: str
    pdf: bytes
    created_at: datetime


class MemoryStore:
    """The committed state, shared by every unit of work of one test."""

    def __init__(self, wards: Sequence[Ward] = SEED_WARDS) -> None:
        self.tables: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}
        self.wards: dict[str, Ward] = {w.code: w for w in wards}
        self._outbox_seq = 0
        self.commits = 0

    def unit_of_work(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def next_outbox_id(self) -> int:
        """Like a database sequence: ids are never reused, even when the inserting transaction rolls back."""
        self._outbox_seq += 1
        return self._outbox_seq

    # Read-only views of the committed state, for assertions (deep copies).
    def rows(self, table: str) -> list[Any]:
        return [copy.deepcopy(v) for _, v in sorted(self.tables[table].items(), key=lambda kv: str(kv[0]))]

    def consignments(self) -> list[Consignment]:
        uow = FakeUnitOfWork(self)
        with uow:
            return [uow.consignments.get(cid) for cid in sorted(self.tables["consignments"])]  # type: ignore[misc]

    def consignment(self, consignment_id: str) -> Consignment | None:
        with FakeUnitOfWork(self) as uow:
            return uow.consignments.get(consignment_id)

    def outbox_items(self, *, kind: str | None = None, consignment_id: str | None = None) -> list[OutboxItem]:
        items = [copy.deepcopy(self.tables["outbox"][i]) for i in sorted(self.tables["outbox"])]
        return [
            i
            for i in items
            if (kind is None or i.kind == kind) and (consignment_id is None or i.consignment_id == consignment_id)
        ]

    def outbox_item(self, item_id: int) -> OutboxItem:
        return copy.deepcopy(self.tables["outbox"][item_id])

    def idempotency_records(self) -> list[IdempotencyRecord]:
        return self.rows("idempotency")

    def carrier_events(self) -> list[CarrierEventRow]:
        return self.rows("carrier_events")

    def next_poll_at(self, consignment_id: str) -> datetime | None:
        return self.tables["consignments"][consignment_id].next_poll_at


class _Tx:
    """One transaction's view: committed rows overlaid with this transaction's staged writes."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.staged: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}

    def get(self, table: str, key: Any) -> Any:
        staged = self.staged[table]
        value = staged[key] if key in staged else self.store.tables[table].get(key)
        return None if value is None or value is _DELETED else copy.deepcopy(value)

    def put(self, table: str, key: Any, value: Any) -> None:
        self.staged[table][key] = copy.deepcopy(value)

    def delete(self, table: str, key: Any) -> None:
        self.staged[table][key] = _DELETED

    def has(self, table: str, key: Any) -> bool:
        return self.get(table, key) is not None

    def items(self, table: str) -> Iterator[tuple[Any, Any]]:
        """Every visible row (deep copies), in key order."""
        merged = dict(self.store.tables[table])
        merged.update(self.staged[table])
        for key in sorted(merged, key=_sort_key):
            value = merged[key]
            if value is not _DELETED:
                yield key, copy.deepcopy(value)

    def commit(self) -> None:
        for table, rows in self.staged.items():
            committed = self.store.tables[table]
            for key, value in rows.items():
                if value is _DELETED:
                    committed.pop(key, None)
                else:
                    committed[key] = copy.deepcopy(value)
            rows.clear()
        self.store.commits += 1

    def rollback(self) -> None:
        for rows in self.staged.values():
            rows.clear()


def _sort_key(key: Any) -> Any:
    return (0, key, "") if isinstance(key, int) else (1, 0, str(key))


# --------------------------------------------------------------------------------------------------------------------
# Repositories


class _Repo:
    def __init__(self, tx: _Tx) -> None:
        self.tx = tx


class MemoryAgencyRepository(_Repo):
    def add(self, agency: Agency) -> None:
        if self.tx.has("agencies", agency.id) or self.by_code(agency.code) is not None:
            raise Conflict(f"duplicate agency {agency.code}")  # the SQL table has unique id and code
        self.tx.put("agencies", agency.id, agency)

    def get(self, agency_id: str) -> Agency | None:
        return self.tx.get("agencies", agency_id)

    def by_code(self, code: str) -> Agency | None:
        return next((a for _, a in self.tx.items("agencies") if a.code == code), None)

    def list(self) -> list[Agency]:
        return sorted((a for _, a in self.tx.items("agencies")), key=lambda a: a.code)


class MemoryApiKeyRepository(_Repo):
    def add(self, key: ApiKey) -> None:
        if self.tx.has("api_keys", key.id) or self.by_hash(key.key_hash) is not None:
            raise Conflict("duplicate api key")
        self.tx.put("api_keys", key.id, key)

    def get(self, key_id: str) -> ApiKey | None:
        return self.tx.get("api_keys", key_id)

    def by_hash(self, key_hash: str) -> ApiKey | None:
        return next((k for _, k in self.tx.items("api_keys") if k.key_hash == key_hash), None)

    def for_agency(self, agency_id: str) -> list[ApiKey]:
        keys = [k for _, k in self.tx.items("api_keys") if k.agency_id == agency_id]
        return sorted(keys, key=lambda k: (k.created_at, k.id))

    def callback_keys(self, agency_id: str) -> list[ApiKey]:
        return [k for k in self.for_agency(agency_id) if k.revoked_at is None and k.callback_url]

    def revoke(self, key_id: str, at: datetime) -> None:
        """Test helper (no port method exists yet): mark a key revoked."""
        key = self.get(key_id)
        assert key is not None
        key.revoked_at = at
        self.tx.put("api_keys", key_id, key)


class MemoryUnitsRepository:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def ward(self, code: str) -> Ward | None:
        return self.store.wards.get(code)

    def count(self) -> tuple[int, int]:
        return len({w.province_code for w in self.store.wards.values()}), len(self.store.wards)


class MemoryConsignmentRepository(_Repo):
    """Mirrors ``SqlConsignmentRepository``: optimistic version on save; events inserted once, by ``seq``."""

    def __init__(self, tx: _Tx) -> None:
        super().__init__(tx)
        self._loaded_versions: dict[str, int] = {}
        self._stored_seq: dict[str, int] = {}

    def add(self, c: Consignment) -> None:
        if self.tx.has("consignments", c.id):
            raise Conflict(f"duplicate consignment id {c.id}")
        if any(r.consignment.tracking_token == c.tracking_token for _, r in self.tx.items("consignments")):
            raise Conflict("duplicate tracking token")
        self.tx.put("consignments", c.id, ConsignmentRow(consignment=_row_of(c), last_polled_at=None))
        self._insert_events(c)
        self._loaded_versions[c.id] = c.version

    def get(self, consignment_id: str, *, agency_id: str | None = None) -> Consignment | None:
        row = self.tx.get("consignments", consignment_id)
        if row is None or (agency_id is not None and row.consignment.agency_id != agency_id):
            return None
        return self._load(row)

    def by_token(self, token: str) -> Consignment | None:
        row = next((r for _, r in self.tx.items("consignments") if r.consignment.tracking_token == token), None)
        return self._load(row) if row else None

    def save_many(self, consignments: Sequence[Consignment]) -> None:
        for c in consignments:
            self.save(c)

    def get_many(self, consignment_ids: Sequence[str]) -> dict[str, Consignment]:
        out = {}
        for cid in dict.fromkeys(consignment_ids):
            c = self.get(cid)
            if c is not None:
                out[cid] = c
        return out

    def save(self, c: Consignment) -> None:
        loaded = self._loaded_versions.get(c.id)
        if loaded is None:
            raise RuntimeError("save() of a consignment this unit of work did not load")
        if loaded == c.version:
            return
        row = self.tx.get("consignments", c.id)
        if row is None or row.consignment.version != loaded:
            raise Conflict("The consignment was changed by someone else at the same time; try again.")
        self.tx.put("consignments", c.id, replace(row, consignment=_row_of(c)))
        self._insert_events(c)
        self._loaded_versions[c.id] = c.version

    def search(
        self, *, agency_id: str, dossier_code: str | None, status: str | None, offset: int, limit: int
    ) -> tuple[list[Consignment], int]:
        rows = [
            r
            for _, r in self.tx.items("consignments")
            if r.consignment.agency_id == agency_id
            and (not dossier_code or r.consignment.dossier.code == dossier_code)
            and (not status or r.consignment.status == status)
        ]
        rows.sort(key=lambda r: r.consignment.id)
        rows.sort(key=lambda r: r.consignment.created_at, reverse=True)
        return [self._load(r) for r in rows[offset : offset + limit]], len(rows)

    def find_id(self, carrier: str, *, tracking_code: str | None = None, client_ref: str | None = None) -> str | None:
        for _, r in self.tx.items("consignments"):
            c = r.consignment
            if c.carrier != carrier:
                continue
            if (tracking_code and c.tracking_code == tracking_code) or (
                not tracking_code and client_ref and c.client_ref == client_ref
            ):
                return c.id
        return None

    def find_ids(
        self, carrier: str, *, tracking_codes: Sequence[str], client_refs: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        by_code = {code: cid for code in tracking_codes if code and (cid := self.find_id(carrier, tracking_code=code))}
        by_ref = {ref: cid for ref in client_refs if ref and (cid := self.find_id(carrier, client_ref=ref))}
        return by_code, by_ref

    def due_for_poll(self, *, carriers: Sequence[str], now: datetime, limit: int) -> list[str]:
        rows = [
            r
            for _, r in self.tx.items("consignments")
            if r.consignment.carrier in carriers
            and r.consignment.tracking_code is not None
            and r.consignment.status not in TERMINAL
            and (r.next_poll_at is None or r.next_poll_at <= now)
        ]
        never = [r for r in rows if r.next_poll_at is None]
        later = sorted((r for r in rows if r.next_poll_at is not None), key=lambda r: r.next_poll_at)
        return [r.consignment.id for r in [*never, *later]][:limit]

    def poll_failures(self, consignment_id: str) -> int:
        row = self.tx.get("consignments", consignment_id)
        return row.poll_failures if row else 0

    def schedule_poll(self, consignment_ids: Sequence[str], *, next_at: datetime, failures: int = 0) -> None:
        for cid in consignment_ids:
            row = self.tx.get("consignments", cid)
            if row is not None:
                row.next_poll_at = next_at
                row.poll_failures = failures
                self.tx.put("consignments", cid, row)

    def _insert_events(self, c: Consignment) -> None:
        stored = self._stored_seq.get(c.id, 0)
        fresh = [e for e in c.events if e.seq > stored]
        for e in fresh:
            if self.tx.has("consignment_events", (c.id, e.seq)):  # UNIQUE (consignment_id, seq)
                raise Conflict(f"duplicate event seq {e.seq} for consignment {c.id}")
            self.tx.put("consignment_events", (c.id, e.seq), e)
        if fresh:
            self._stored_seq[c.id] = fresh[-1].seq

    def _load(self, row: ConsignmentRow) -> Consignment:
        c = row.consignment
        events: list[ConsignmentEvent] = sorted(
            (e for (cid, _), e in self.tx.items("consignment_events") if cid == c.id), key=lambda e: e.seq
        )
        c = replace(c, events=events, new_events=[])
        self._loaded_versions[c.id] = c.version
        self._stored_seq[c.id] = events[-1].seq if events else 0
        return c


def _row_of(c: Consignment) -> Consignment:
    """What the consignments table holds: the aggregate without events (those live in their own table)."""
    return replace(c, events=[], new_events=[], options=copy.deepcopy(c.options))


class MemoryCarrierEventRepository(_Repo):
    """Mirrors ``SqlCarrierEventRepository``: UNIQUE (carrier, dedup_key); pending in (occurred_at, id) order."""

    def add_if_new(self, event: TrackingEvent, *, consignment_id: str | None, received_at: datetime) -> bool:
        key = (event.carrier, event.dedup_key)
        if self.tx.has("carrier_events", key):
            return False
        row = CarrierEventRow(
            id=self.tx.store.next_outbox_id(), consignment_id=consignment_id, event=event, received_at=received_at
        )
        self.tx.put("carrier_events", key, row)
        return True

    def add_many_if_new(
        self, events: Sequence[tuple[TrackingEvent, str | None]], *, received_at: datetime
    ) -> list[bool]:
        return [self.add_if_new(e, consignment_id=cid, received_at=received_at) for e, cid in events]

    def pending(self, consignment_id: str) -> list[tuple[int, TrackingEvent]]:
        rows = [r for _, r in self.tx.items("carrier_events") if r.consignment_id == consignment_id and not r.processed]
        rows.sort(key=lambda r: (r.event.occurred_at, r.id))
        return [(r.id, r.event) for r in rows]

    def pending_many(self, consignment_ids: Sequence[str]) -> dict[str, list[tuple[int, TrackingEvent]]]:
        return {cid: found for cid in dict.fromkeys(consignment_ids) if (found := self.pending(cid))}

    def settle_many(self, settled: Sequence[tuple[int, bool]]) -> None:
        for event_id, applied in settled:
            self.settle(event_id, applied=applied)

    def settle(self, event_id: int, *, applied: bool) -> None:
        for key, row in self.tx.items("carrier_events"):
            if row.id == event_id:
                row.processed = True
                row.applied = applied
                self.tx.put("carrier_events", key, row)

    def adopt(self, carrier: str, carrier_ref: str, consignment_id: str) -> int:
        n = 0
        for key, row in self.tx.items("carrier_events"):
            if row.consignment_id is None and row.event.carrier == carrier and row.event.carrier_ref == carrier_ref:
                row.consignment_id = consignment_id
                self.tx.put("carrier_events", key, row)
                n += 1
        return n


class MemoryCarrierSettingsRepository(_Repo):
    def get(self, agency_id: str, carrier: str) -> CarrierConfig | None:
        return self.tx.get("carrier_settings", (agency_id, carrier))

    def put(self, config: CarrierConfig) -> None:
        self.tx.put("carrier_settings", (config.agency_id, config.carrier), config)

    def for_agency(self, agency_id: str) -> list[CarrierConfig]:
        return [c for (a, _), c in self.tx.items("carrier_settings") if a == agency_id]

    def for_carrier(self, carrier: str) -> list[CarrierConfig]:
        return [c for (_, code), c in self.tx.items("carrier_settings") if code == carrier]


class MemoryCursorRepository(_Repo):
    def get(self, agency_id: str, carrier: str) -> str | None:
        return self.tx.get("cursors", (agency_id, carrier))

    def put(self, agency_id: str, carrier: str, cursor: str | None, now: datetime) -> None:
        self.tx.put("cursors", (agency_id, carrier), cursor)


_LIVE = (OutboxState.PENDING, OutboxState.IN_FLIGHT)


def _is_due(item: OutboxItem, now: datetime) -> bool:
    """The SQL claim/due condition: pending and due, or in flight with an expired lease."""
    if item.state == OutboxState.PENDING:
        return item.next_attempt_at <= now
    if item.state == OutboxState.IN_FLIGHT:
        return item.lease_until is not None and item.lease_until < now
    return False


class MemoryOutboxRepository(_Repo):
    def add_many(self, items: Sequence[OutboxItem]) -> None:
        for item in items:
            self.add(item)

    def add(self, item: OutboxItem) -> None:
        item.id = self.tx.store.next_outbox_id()
        self.tx.put(
            "outbox",
            item.id,
            OutboxItem(
                id=item.id,
                kind=item.kind,
                consignment_id=item.consignment_id,
                ordering_key=item.ordering_key,
                payload=copy.deepcopy(item.payload),
                state=item.state,
                attempts=item.attempts,
                next_attempt_at=item.next_attempt_at,
                lease_until=item.lease_until,
                last_error=item.last_error,
                created_at=item.created_at,
            ),
        )

    def get(self, item_id: int) -> OutboxItem | None:
        return self.tx.get("outbox", item_id)

    def _blocked(self, item: OutboxItem) -> bool:
        if item.ordering_key is None:
            return False
        return any(
            other.ordering_key == item.ordering_key and other.id < item.id and other.state in _LIVE  # type: ignore[operator]
            for _, other in self.tx.items("outbox")
        )

    def claim(self, item_id: int, *, now: datetime, lease_until: datetime) -> OutboxItem | None:
        item = self.get(item_id)
        if item is None or not _is_due(item, now) or self._blocked(item):
            return None
        item.state = OutboxState.IN_FLIGHT
        item.lease_until = lease_until
        item.attempts += 1
        self.tx.put("outbox", item_id, item)
        return self.get(item_id)

    def claim_many(
        self, item_ids: Sequence[int], *, kinds: Sequence[str], now: datetime, lease_until: datetime
    ) -> list[OutboxItem]:
        out = []
        for item_id in sorted(item_ids):
            item = self.get(item_id)
            if item is not None and item.kind.value in kinds:
                claimed = self.claim(item_id, now=now, lease_until=lease_until)
                if claimed is not None:
                    out.append(claimed)
        return out

    def claim_due(
        self, *, shares: Sequence[tuple[Sequence[str], int]], now: datetime, lease_until: datetime
    ) -> list[OutboxItem]:
        out: list[OutboxItem] = []
        for kinds, limit in shares:
            taken = 0
            for item_id in sorted(i for i, item in self.tx.items("outbox") if item.kind.value in kinds):
                if taken < limit and (claimed := self.claim(item_id, now=now, lease_until=lease_until)) is not None:
                    out.append(claimed)
                    taken += 1
        return sorted(out, key=lambda item: item.id or 0)

    def complete_many(self, claims: Sequence[tuple[int, int]], *, now: datetime) -> set[int]:
        return {i for i, attempt in claims if self.complete(i, attempt=attempt, now=now)}

    def release_many(self, claims: Sequence[tuple[int, int]]) -> set[int]:
        released = set()
        for item_id, attempt in claims:
            if self._settle(item_id, attempt, state=OutboxState.PENDING, attempts=attempt - 1):
                released.add(item_id)
        return released

    def next_in_groups(self, ordering_keys: Sequence[str]) -> list[int]:
        return sorted(n for key in set(ordering_keys) if (n := self.next_in_group(key)) is not None)

    def _update(self, item_id: int, **values: Any) -> None:
        item = self.get(item_id)
        if item is None:
            return
        for name, value in values.items():
            setattr(item, name, value)
        self.tx.put("outbox", item_id, item)

    def _settle(self, item_id: int, attempt: int, **values: Any) -> bool:
        item = self.get(item_id)
        if item is None or item.state != OutboxState.IN_FLIGHT or item.attempts != attempt:
            return False  # the claim was lost: same fencing rule as the SQL repository
        self._update(item_id, lease_until=None, **values)
        return True

    def complete(self, item_id: int, *, attempt: int, now: datetime) -> bool:
        return self._settle(item_id, attempt, state=OutboxState.DONE, completed_at=now, last_error=None)

    def retry_later(self, item_id: int, *, attempt: int, next_attempt_at: datetime, error: str) -> bool:
        return self._settle(
            item_id, attempt, state=OutboxState.PENDING, next_attempt_at=next_attempt_at, last_error=error
        )

    def dead(self, item_id: int, *, attempt: int, now: datetime, error: str) -> bool:
        return self._settle(item_id, attempt, state=OutboxState.DEAD, completed_at=now, last_error=error)

    def due(self, *, now: datetime, limit: int) -> list[int]:
        return [i for i, item in self.tx.items("outbox") if _is_due(item, now) and not self._blocked(item)][:limit]

    def next_in_group(self, ordering_key: str) -> int | None:
        return next(
            (i for i, item in self.tx.items("outbox") if item.ordering_key == ordering_key and item.state in _LIVE),
            None,
        )

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for _, item in self.tx.items("outbox"):
            counts[item.state.value] += 1
        return dict(counts)


class MemoryIdempotencyRepository(_Repo):
    def insert(self, record: IdempotencyRecord) -> bool:
        key = (record.principal_id, record.key)
        if self.tx.has("idempotency", key):
            return False
        self.tx.put("idempotency", key, record)
        return True

    def insert_done(self, record: IdempotencyRecord) -> bool:
        return self.insert(record)

    def get(self, principal_id: str, key: str) -> IdempotencyRecord | None:
        return self.tx.get("idempotency", (principal_id, key))

    def take_over(self, principal_id: str, key: str, *, stale_before: datetime, now: datetime) -> bool:
        record = self.get(principal_id, key)
        if record is None or record.state != "in_progress" or not record.created_at < stale_before:
            return False
        record.created_at = now
        self.tx.put("idempotency", (principal_id, key), record)
        return True

    def complete(
        self,
        principal_id: str,
        key: str,
        *,
        claimed_at: datetime,
        status: int,
        body: str,
        resource_id: str,
        now: datetime,
    ) -> bool:
        record = self.get(principal_id, key)
        if record is None or record.state != "in_progress" or record.created_at != claimed_at:
            return False  # an UPDATE matching no row: the claim was taken over
        record.state = "done"
        record.response_status = status
        record.response_body = body
        record.resource_id = resource_id
        self.tx.put("idempotency", (principal_id, key), record)
        return True


class MemoryLabelRepository(_Repo):
    def get(self, consignment_id: str, tracking_code: str) -> bytes | None:
        row = self.tx.get("labels", consignment_id)
        return row.pdf if row is not None and row.tracking_code == tracking_code else None

    def put(self, consignment_id: str, tracking_code: str, pdf: bytes, now: datetime) -> None:
        self.tx.put("labels", consignment_id, LabelRow(consignment_id, tracking_code, pdf, now))


class MemoryHandoverRepository(_Repo):
    def add(self, handover: Handover) -> None:
        self.tx.put("handovers", handover.id, handover)

    def get(self, handover_id: str, *, agency_id: str) -> Handover | None:
        h = self.tx.get("handovers", handover_id)
        return h if h is not None and h.agency_id == agency_id else None


class MemoryPrintLogRepository(_Repo):
    def add(self, record: PrintRecord) -> None:
        self.tx.put("prints", self.tx.store.next_outbox_id(), record)

    def printed(self, consignment_ids: Sequence[str], document: str) -> set[str]:
        return {
            r.consignment_id
            for _, r in self.tx.items("prints")
            if r.document == document and r.consignment_id in consignment_ids
        }

    def history(self, consignment_id: str) -> list[PrintRecord]:
        return [r for _, r in self.tx.items("prints") if r.consignment_id == consignment_id]

    def booked_not_printed(self, agency_id: str, limit: int) -> list[str]:
        printed = {r.consignment_id for _, r in self.tx.items("prints") if r.document == "label"}
        rows = [
            r.consignment
            for _, r in self.tx.items("consignments")
            if r.consignment.agency_id == agency_id
            and r.consignment.status == "booked"
            and r.consignment.id not in printed
        ]
        rows.sort(key=lambda c: (c.created_at, c.id))
        return [c.id for c in rows][:limit]


class MemoryAlertRepository(_Repo):
    """``uow.alerts``: alerts, plus the webhook-endpoint and dead-letter queries (see storage/alerts.py)."""

    def raise_once(self, alert: Alert) -> bool:
        for _, a in self.tx.items("alerts"):
            if a.kind == alert.kind and a.subject == alert.subject and a.acknowledged_at is None:
                alert.id = a.id
                return False
        alert.id = max((i for i, _ in self.tx.items("alerts")), default=0) + 1
        self.tx.put("alerts", alert.id, alert)
        return True

    def list(self, *, kind: str | None = None, subject: str | None = None, open_only: bool = False) -> list[Alert]:
        return [
            a
            for _, a in self.tx.items("alerts")
            if (kind is None or a.kind == kind)
            and (subject is None or a.subject == subject)
            and (not open_only or a.acknowledged_at is None)
        ]

    def acknowledge(self, alert_id: int, at: datetime) -> bool:
        a = self.tx.get("alerts", alert_id)
        if a is None or a.acknowledged_at is not None:
            return False
        a.acknowledged_at = at
        self.tx.put("alerts", alert_id, a)
        return True

    def _key(self, api_key_id: str, **values: Any) -> bool:
        key = self.tx.get("api_keys", api_key_id)
        if key is None:
            return False
        for name, value in values.items():
            setattr(key, name, value)
        self.tx.put("api_keys", api_key_id, key)
        return True

    def disable_callback(self, api_key_id: str, at: datetime) -> bool:
        key = self.tx.get("api_keys", api_key_id)
        return key is not None and key.callback_disabled_at is None and self._key(api_key_id, callback_disabled_at=at)

    def enable_callback(self, api_key_id: str) -> bool:
        key = self.tx.get("api_keys", api_key_id)
        return (
            key is not None
            and key.callback_disabled_at is not None
            and self._key(api_key_id, callback_disabled_at=None)
        )

    def rotate_webhook_secret(self, api_key_id: str, *, new_secret: str, at: datetime) -> bool:
        key = self.tx.get("api_keys", api_key_id)
        return key is not None and self._key(
            api_key_id, previous_webhook_secret=key.webhook_secret, webhook_secret=new_secret, secret_rotated_at=at
        )

    def retire_previous_secret(self, api_key_id: str) -> None:
        self._key(api_key_id, previous_webhook_secret=None)

    def webhooks(
        self, *, state=None, ids=None, since=None, until=None, agency_id=None, limit=500
    ) -> list[WebhookRecord]:
        out = []
        for _, item in self.tx.items("outbox"):
            if item.kind != OutboxKind.NOTIFY_DOSSIER or (state is not None and item.state.value != state):
                continue
            if (ids is not None and item.id not in ids) or (since is not None and item.created_at < since):
                continue
            if until is not None and item.created_at >= until:
                continue
            if agency_id is not None:
                row = self.tx.get("consignments", item.consignment_id)
                if row is None or row.consignment.agency_id != agency_id:
                    continue
            body = json.loads(item.payload.get("body") or "{}")
            out.append(
                WebhookRecord(
                    id=item.id,
                    consignment_id=item.consignment_id,
                    api_key_id=item.payload.get("api_key_id"),
                    message_id=item.payload.get("message_id"),
                    event_type=body.get("type"),
                    status=(body.get("data") or {}).get("status"),
                    state=item.state.value,
                    attempts=item.attempts,
                    last_error=item.last_error,
                    created_at=item.created_at,
                    completed_at=item.completed_at,
                )
            )
        return out[:limit] if limit is not None else out

    def requeue_webhooks(self, ids, *, now: datetime) -> list[int]:
        changed = []
        for item_id in ids:
            item = self.tx.get("outbox", item_id)
            if item is None or item.kind != OutboxKind.NOTIFY_DOSSIER or item.state != OutboxState.DEAD:
                continue
            item.state, item.attempts, item.next_attempt_at = OutboxState.PENDING, 0, now
            item.lease_until = item.last_error = item.completed_at = None
            self.tx.put("outbox", item_id, item)
            changed.append(item_id)
        return sorted(changed)


class MemorySmsRepository(_Repo):
    """Mirrors ``SqlSmsRepository``: UNIQUE dedupe_key; status changes only from the states the SQL allows."""

    def add(self, message: SmsMessage) -> bool:
        if self.tx.has("sms_messages", message.id) or (message.dedupe_key and self.has_dedupe_key(message.dedupe_key)):
            return False
        self.tx.put("sms_messages", message.id, message)
        return True

    def get(self, message_id: str) -> SmsMessage | None:
        return self.tx.get("sms_messages", message_id)

    def by_gateway_id(self, gateway: str, gateway_message_id: str) -> SmsMessage | None:
        return next(
            (
                m
                for _, m in self.tx.items("sms_messages")
                if m.gateway == gateway and m.gateway_message_id == gateway_message_id
            ),
            None,
        )

    def has_dedupe_key(self, dedupe_key: str) -> bool:
        return any(m.dedupe_key == dedupe_key for _, m in self.tx.items("sms_messages"))

    def count_recent(self, phone: str, *, since: datetime, exclude_events: Sequence[str]) -> int:
        return sum(
            1
            for _, m in self.tx.items("sms_messages")
            if m.phone == phone
            and m.created_at >= since
            and m.status != SmsStatus.SKIPPED
            and m.event not in exclude_events
        )

    def _update(self, message_id: str, allowed: Sequence[SmsStatus] | None, **values: Any) -> bool:
        m = self.get(message_id)
        if m is None or (allowed is not None and m.status not in allowed):
            return False
        self.tx.put("sms_messages", message_id, replace(m, **values))
        return True

    def mark_sent(self, message_id: str, *, gateway: str, gateway_message_id: str | None, at: datetime) -> None:
        m = self.get(message_id)
        if m is not None:
            status = SmsStatus.SENT if m.status == SmsStatus.QUEUED else m.status
            self._update(
                message_id, None, status=status, gateway=gateway, gateway_message_id=gateway_message_id, sent_at=at
            )

    def settle(self, message_id: str, *, status: SmsStatus, error: str | None, at: datetime) -> bool:
        return self._update(message_id, [SmsStatus.QUEUED], status=status, error=error)

    def reschedule(self, message_id: str, *, at: datetime, error: str | None = None) -> None:
        extra = {"error": error} if error is not None else {}
        self._update(message_id, [SmsStatus.QUEUED], scheduled_at=at, **extra)

    def apply_report(self, message_id: str, *, status: SmsStatus, error: str | None, at: datetime) -> bool:
        extra = {"delivered_at": at} if status == SmsStatus.DELIVERED else {"error": error or "reported undelivered"}
        return self._update(message_id, [SmsStatus.QUEUED, SmsStatus.SENT], status=status, **extra)

    def for_consignment(self, consignment_id: str) -> list[SmsMessage]:
        rows = [m for _, m in self.tx.items("sms_messages") if m.consignment_id == consignment_id]
        return sorted(rows, key=lambda m: (m.created_at, m.id))

    def settings(self, agency_id: str) -> SmsSettings | None:
        return self.tx.get("sms_settings", agency_id)

    def put_settings(self, settings: SmsSettings) -> None:
        self.tx.put("sms_settings", settings.agency_id, settings)


class FakeUnitOfWork:
    """One transaction over a ``MemoryStore``; leaving the ``with`` block without ``commit()`` discards its writes."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._tx: _Tx | None = None

    def __enter__(self) -> FakeUnitOfWork:
        assert self._tx is None, "a unit of work is entered once"
        tx = _Tx(self.store)
        self._tx = tx
        self.agencies = MemoryAgencyRepository(tx)
        self.api_keys = MemoryApiKeyRepository(tx)
        self.units = MemoryUnitsRepository(self.store)
        self.consignments = MemoryConsignmentRepository(tx)
        self.carrier_events = MemoryCarrierEventRepository(tx)
        self.carrier_settings = MemoryCarrierSettingsRepository(tx)
        self.cursors = MemoryCursorRepository(tx)
        self.outbox = MemoryOutboxRepository(tx)
        self.idempotency = MemoryIdempotencyRepository(tx)
        self.labels = MemoryLabelRepository(tx)
        self.handovers = MemoryHandoverRepository(tx)
        self.prints = MemoryPrintLogRepository(tx)
        self.alerts = MemoryAlertRepository(tx)
        self.sms = MemorySmsRepository(tx)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._tx is not None
        self._tx.rollback()
        self._tx = None

    def commit(self) -> None:
        assert self._tx is not None, "commit() outside the with block"
        self._tx.commit()

    def rollback(self) -> None:
        assert self._tx is not None
        self._tx.rollback()


class UnitOfWorkFactory:
    """``Deps.uow``: a callable returning a fresh unit of work; keeps the store reachable for assertions."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


# --------------------------------------------------------------------------------------------------------------------
# Clock, queue, renderer, webhook sender


class FixedClock:
    def __init__(self, now: datetime = T0) -> None:
        self.set(now)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = now.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kw: float) -> datetime:
        self._now += (delta or timedelta()) + timedelta(**kw)
        return self._now


class FakeJobQueue:
    def __init__(self, *, fail: bool = False) -> None:
        self.outbox_ids: list[int] = []  # every id enqueued, in order
        self.outbox_calls: list[list[int]] = []
        self.poll_ids: list[str] = []
        self.poll_calls: list[list[str]] = []
        self.drain_wakes = 0
        self.fail = fail

    def enqueue_outbox(self, outbox_ids: Sequence[int]) -> None:
        if self.fail:
            raise ConnectionError("redis is down")
        self.outbox_calls.append(list(outbox_ids))
        self.outbox_ids.extend(outbox_ids)

    def wake_drain(self) -> None:
        if self.fail:
            raise ConnectionError("redis is down")
        self.drain_wakes += 1

    def drain_started(self) -> None:
        if self.fail:
            raise ConnectionError("redis is down")

    def enqueue_poll(self, consignment_ids: Sequence[str]) -> None:
        if self.fail:
            raise ConnectionError("redis is down")
        self.poll_calls.append(list(consignment_ids))
        self.poll_ids.extend(consignment_ids)

    def ping(self) -> bool:
        return not self.fail

    def clear(self) -> None:
        self.outbox_ids.clear()
        self.outbox_calls.clear()
        self.poll_ids.clear()
        self.poll_calls.clear()
        self.drain_wakes = 0


class FakeWebhookSender:
    """Records every delivery; answers from a script (FIFO), then with ``default`` (200 OK)."""

    def __init__(self, default: DeliveryResult | None = None) -> None:
        self.deliveries: list[WebhookDelivery] = []
        self.script: deque[DeliveryResult] = deque()
        self.default = default or DeliveryResult(ok=True, status_code=200)

    def respond(self, *results: DeliveryResult | int) -> None:
        """Queue answers; a bare int is an HTTP status (2xx ok, 410 gone, other failures)."""
        for r in results:
            self.script.append(r if isinstance(r, DeliveryResult) else status_result(r))

    def send(self, delivery: WebhookDelivery) -> DeliveryResult:
        self.deliveries.append(delivery)
        return self.script.popleft() if self.script else self.default


def status_result(status: int, *, retry_after: int | None = None) -> DeliveryResult:
    return DeliveryResult(
        ok=200 <= status < 300,
        status_code=status,
        error=None if 200 <= status < 300 else f"HTTP {status}",
        retry_after_seconds=retry_after,
        gone=status == 410,
    )


class FakeLabelRenderer:
    def __init__(self) -> None:
        self.rendered: list[LabelContent] = []

    def render_label(self, content: LabelContent) -> bytes:
        self.rendered.append(content)
        return b"%PDF-fake " + content.tracking_code.encode("utf-8")

    def render_labels(self, contents: list[LabelContent]) -> bytes:
        return b"\n".join(self.render_label(c) for c in contents)


class RecordingSmsGateway:
    """Records every message handed over; raises scripted errors first (FIFO). Reports: JSON ``{id, status}``."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[SmsMessage] = []
        self.script: deque[Exception] = deque()

    def fail_next(self, *errors: Exception) -> None:
        self.script.extend(errors)

    def send(self, message: SmsMessage) -> SmsSendResult:
        self.sent.append(copy.deepcopy(message))
        if self.script:
            raise self.script.popleft()
        return SmsSendResult(gateway=self.name, gateway_message_id=f"rec-{len(self.sent)}")

    def parse_reports(self, request: SmsReportRequest) -> list[SmsReport]:
        try:
            data = json.loads(request.body)
            return [SmsReport(status=SmsStatus(data["status"]), gateway_message_id=data["id"], error=data.get("error"))]
        except (ValueError, KeyError, TypeError):
            raise SmsReportInvalid("expected {id, status}") from None


# --------------------------------------------------------------------------------------------------------------------
# Courier


@dataclass
class FakeOrder:
    request: ConsignmentRequest
    result: ConsignmentResult
    picked_up: bool = False
    cancelled: bool = False
    cancel_reason: str | None = None


@dataclass
class _Failure:
    exc: CarrierError
    after_recording: bool = False


ALL_CAPABILITIES = frozenset(
    {Capability.CREATE, Capability.CANCEL, Capability.TRACK_POLL, Capability.LOOKUP_BY_REF, Capability.LABEL}
)


@dataclass
class FakeCarrier:
    """A courier with a ledger of orders keyed by client reference and scripted failures per operation."""

    code: str = "fake"
    name: str = "Fake Courier"
    capabilities: frozenset[Capability] = ALL_CAPABILITIES
    services: tuple[str, ...] = ("standard", "express")
    orders: dict[str, FakeOrder] = field(default_factory=dict)  # client_ref → order
    tracking: dict[str, list[TrackingEvent]] = field(default_factory=dict)  # carrier_ref → events
    calls: list[tuple[str, str]] = field(default_factory=list)  # (operation, reference)
    _failures: dict[str, deque[_Failure]] = field(default_factory=lambda: defaultdict(deque))
    _serial: int = 0

    # Scripting -------------------------------------------------------------------------------------------------
    def fail_next(self, operation: str, exc: CarrierError, *, after_recording: bool = False) -> None:
        """Make the next ``operation`` (create | find | cancel | track) raise ``exc``.

        With ``after_recording`` (create only) the order is recorded first, as when the courier committed the order
        but the answer was lost (a timeout after the fact).
        """
        self._failures[operation].append(_Failure(exc, after_recording))

    def fail_next_create(self, exc: CarrierError, *, after_recording: bool = False) -> None:
        self.fail_next("create", exc, after_recording=after_recording)

    def add_tracking(self, carrier_ref: str, *events: TrackingEvent) -> None:
        self.tracking.setdefault(carrier_ref, []).extend(events)

    def pick_up(self, client_ref: str | None = None) -> None:
        """Mark an order (default: the only one) as collected by the courier: it can no longer be cancelled."""
        order = self.orders[client_ref] if client_ref else self.only_order()
        order.picked_up = True

    def only_order(self) -> FakeOrder:
        assert len(self.orders) == 1, f"expected exactly one order, have {len(self.orders)}"
        return next(iter(self.orders.values()))

    def _maybe_fail(self, operation: str, *, before: bool) -> None:
        queue = self._failures[operation]
        if queue and queue[0].after_recording != before:
            raise queue.popleft().exc

    # CarrierAdapter ----------------------------------------------------------------------------------------------
    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        self.calls.append(("create", req.client_ref))
        self._maybe_fail("create", before=True)
        existing = self.orders.get(req.client_ref)
        if existing is not None:
            raise DuplicateReference(
                self.code, f"reference {req.client_ref} already used", existing_ref=existing.result.carrier_ref
            )
        self._serial += 1
        result = ConsignmentResult(
            carrier=self.code,
            carrier_ref=f"FK{self._serial:09d}VN",
            client_ref=req.client_ref,
            carrier_internal_id=f"fk-{uuid.uuid5(uuid.NAMESPACE_URL, req.client_ref).hex[:12]}",
            fee_total_vnd=25_000,
        )
        self.orders[req.client_ref] = FakeOrder(request=req, result=result)
        self._maybe_fail("create", before=False)
        return result

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None:
        self.calls.append(("find", client_ref))
        self._maybe_fail("find", before=True)
        order = self.orders.get(client_ref)
        return order.result if order else None

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        self.calls.append(("cancel", carrier_ref))
        self._maybe_fail("cancel", before=True)
        order = self._by_carrier_ref(carrier_ref)
        if order is None:
            raise InvalidState(self.code, f"no order {carrier_ref}")
        if order.picked_up:
            raise InvalidState(self.code, "the item was already picked up")
        order.cancelled = True
        order.cancel_reason = reason

    def track(self, carrier_ref: str) -> list[TrackingEvent]:
        self.calls.append(("track", carrier_ref))
        self._maybe_fail("track", before=True)
        return list(self.tracking.get(carrier_ref, []))

    def _by_carrier_ref(self, carrier_ref: str) -> FakeOrder | None:
        return next(
            (o for o in self.orders.values() if carrier_ref in (o.result.carrier_ref, o.result.carrier_internal_id)),
            None,
        )


def tracking_event(
    carrier_ref: str,
    status: CourierStatus,
    occurred_at: datetime,
    *,
    carrier: str = "fake",
    dedup_key: str | None = None,
    provisional: bool = False,
    raw_text: str = "",
    location: str | None = None,
) -> TrackingEvent:
    """A courier event; the dedup key defaults to one derived from reference, status and time (like most couriers)."""
    key = dedup_key or hashlib.sha1(f"{carrier_ref}|{status}|{occurred_at.isoformat()}".encode()).hexdigest()[:16]
    return TrackingEvent(
        carrier=carrier,
        carrier_ref=carrier_ref,
        occurred_at=occurred_at,
        raw_code=status.value.upper(),
        status=status,
        dedup_key=key,
        raw_text=raw_text,
        location=location,
        provisional=provisional,
    )


# --------------------------------------------------------------------------------------------------------------------
# Wiring and scenario helpers


def make_deps(**overrides: Any) -> Deps:
    """``Deps`` over fresh fakes. Pass ``store=`` to share a store; any ``Deps`` field can be overridden."""
    store = overrides.pop("store", None) or MemoryStore()
    values: dict[str, Any] = {
        "uow": UnitOfWorkFactory(store),
        "clock": FixedClock(),
        "carriers": StaticCarrierRegistry({"fake": FakeCarrier()}),
        "labels": FakeLabelRenderer(),
        "webhooks": FakeWebhookSender(),
        "jobs": FakeJobQueue(),
        "resolve_host": lambda h: ["93.184.216.34"],
        "public_base_url": "https://buudien.example.vn",
    }
    values.update(overrides)
    if isinstance(values["carriers"], dict):
        values["carriers"] = StaticCarrierRegistry(values["carriers"])
    return Deps(**values)


def store_of(deps: Deps) -> MemoryStore:
    return deps.uow.store  # type: ignore[attr-defined]


def return_command(**overrides: Any) -> CreateConsignment:
    """A valid ``return`` (result sent from the centre to the citizen) to a ward of Hà Nội."""
    values: dict[str, Any] = {
        "kind": "return",
        "carrier": "fake",
        "service": "standard",
        "citizen_name": "Nguyễn Thị Hằng",
        "citizen_phone": "0912 345 678",
        "address_line": "Số 12 phố Đội Cấn",
        "ward_code": "00004",
        "province_code": "01",
        "weight_g": 300,
        "contents": "Giấy chứng nhận quyền sử dụng đất",
        "dossier_code": "000.00.01.H56-250701-0001",
    }
    values.update(overrides)
    return CreateConsignment(**values)


def render_json(c: Consignment) -> str:
    """A stand-in for the API's 201 body renderer."""
    return json.dumps({"id": c.id, "status": c.status.value, "tracking_token": c.tracking_token})


def seed_caller(
    deps: Deps,
    *,
    agency_code: str = "TTPVHCC-HN",
    agency_name: str = "Trung tâm Phục vụ hành chính công Thành phố Hà Nội",
    callback_url: str | None = None,
) -> Caller:
    """Register an agency in Ba Đình (Hà Nội), issue it a key and authenticate with that key."""
    agencies.register_agency(
        deps,
        code=agency_code,
        name=agency_name,
        phone="024 3825 3536",
        line="Số 1 phố Đinh Tiên Hoàng",
        ward_code="00004",
        province_code="01",
    )
    issued = agencies.create_api_key(deps, agency_code=agency_code, name="dossier system", callback_url=callback_url)
    return agencies.authenticate(deps, issued.api_key)


def create(
    deps: Deps,
    caller: Caller,
    cmd: CreateConsignment | None = None,
    *,
    key: str | None = None,
    fingerprint: str = "fp-1",
    render: Callable[[Consignment], str] = render_json,
) -> StoredResponse:
    """``create_consignment`` with defaults: a valid return and a fresh Idempotency-Key."""
    return create_consignment(
        deps,
        caller,
        cmd or return_command(),
        idempotency_key=key or uuid.uuid4().hex,
        fingerprint=fingerprint,
        render=render,
    )
