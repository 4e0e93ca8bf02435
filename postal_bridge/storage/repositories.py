"""Repositories: explicit row ↔ domain mapping over one SQLAlchemy connection (the unit of work's transaction)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from postal_bridge.domain.address import Address, Party, Ward
from postal_bridge.domain.carriers import CourierStatus, TrackingEvent
from postal_bridge.domain.consignment import Consignment, ConsignmentEvent, Document, DossierLink, Parcel, Source
from postal_bridge.domain.errors import Conflict
from postal_bridge.domain.model import (
    Agency,
    ApiKey,
    CarrierConfig,
    Handover,
    HandoverDirection,
    IdempotencyRecord,
    OutboxItem,
    OutboxKind,
    OutboxState,
    PrintRecord,
    Role,
    User,
    UserSession,
)
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.status import TERMINAL, Kind, Status
from postal_bridge.storage import tables as t
from postal_bridge.storage.among import among


class _Repo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn


class SqlAgencyRepository(_Repo):
    def add(self, agency: Agency) -> None:
        self.conn.execute(insert(t.agencies).values(**_agency_row(agency)))

    def get(self, agency_id: str) -> Agency | None:
        row = self.conn.execute(select(t.agencies).where(t.agencies.c.id == agency_id)).mappings().first()
        return _agency(row) if row else None

    def by_code(self, code: str) -> Agency | None:
        row = self.conn.execute(select(t.agencies).where(t.agencies.c.code == code)).mappings().first()
        return _agency(row) if row else None

    def list(self) -> list[Agency]:
        rows = self.conn.execute(select(t.agencies).order_by(t.agencies.c.code)).mappings()
        return [_agency(r) for r in rows]


def _agency_row(a: Agency) -> dict[str, Any]:
    return {
        "id": a.id,
        "code": a.code,
        "name": a.name,
        "phone": a.phone,
        "address_line": a.address.line,
        "ward_code": a.address.ward_code,
        "province_code": a.address.province_code,
    }


def _agency(r: Any) -> Agency:
    return Agency(
        id=r["id"],
        code=r["code"],
        name=r["name"],
        phone=r["phone"],
        address=Address(line=r["address_line"], ward_code=r["ward_code"], province_code=r["province_code"]),
    )


_KEY_BY_ID = select(t.api_keys).where(t.api_keys.c.id == bindparam("key_id"))


class SqlApiKeyRepository(_Repo):
    def add(self, key: ApiKey) -> None:
        self.conn.execute(insert(t.api_keys).values(**key.__dict__))

    def get(self, key_id: str) -> ApiKey | None:
        # A constant statement (compiled once): every status change looks its key up for the callback.
        row = self.conn.execute(_KEY_BY_ID, {"key_id": key_id}).mappings().first()
        return ApiKey(**row) if row else None

    def by_hash(self, key_hash: str) -> ApiKey | None:
        row = self.conn.execute(select(t.api_keys).where(t.api_keys.c.key_hash == key_hash)).mappings().first()
        return ApiKey(**row) if row else None

    def callback_keys(self, agency_id: str) -> list[ApiKey]:
        """The agency's live keys with a callback URL: where changes to consignments made by its staff are sent."""
        k = t.api_keys.c
        q = (
            select(t.api_keys)
            .where(k.agency_id == agency_id, k.revoked_at.is_(None), k.callback_url.is_not(None))
            .order_by(k.created_at, k.id)
        )
        return [ApiKey(**r) for r in self.conn.execute(q).mappings()]

    def for_agency(self, agency_id: str) -> list[ApiKey]:
        q = select(t.api_keys).where(t.api_keys.c.agency_id == agency_id).order_by(t.api_keys.c.created_at)
        return [ApiKey(**r) for r in self.conn.execute(q).mappings()]


_WARDS = select(t.wards, t.provinces.c.name.label("province_name")).join(
    t.provinces, t.provinces.c.code == t.wards.c.province_code
)


class SqlUnitsRepository(_Repo):
    def ward(self, code: str) -> Ward | None:
        r = self.conn.execute(_WARDS.where(t.wards.c.code == code)).mappings().first()
        return _ward(r) if r else None

    def in_province(self, province_code: str) -> list[Ward]:
        """Every 2025 ward of one province, by name (the citizen's address-change form)."""
        q = _WARDS.where(t.wards.c.province_code == province_code).order_by(t.wards.c.name, t.wards.c.code)
        return [_ward(r) for r in self.conn.execute(q).mappings()]

    def count(self) -> tuple[int, int]:
        p = self.conn.execute(select(func.count()).select_from(t.provinces)).scalar_one()
        w = self.conn.execute(select(func.count()).select_from(t.wards)).scalar_one()
        return p, w


def _ward(r: Any) -> Ward:
    return Ward(
        code=r["code"],
        name=r["name"],
        province_code=r["province_code"],
        province_name=r["province_name"],
        lat=r["lat"],
        lon=r["lon"],
    )


_C = t.consignments
_E = t.consignment_events
# Events are read as plain tuples in this order (the hot path of every load).
_EVENT_COLUMNS = (
    _E.c.consignment_id,
    _E.c.seq,
    _E.c.status,
    _E.c.previous_status,
    _E.c.occurred_at,
    _E.c.source,
    _E.c.actor,
    _E.c.location,
    _E.c.description,
)
# Enum members by stored value: a dict lookup per event column instead of Enum.__call__ (≈ 1 µs each, and a batch
# of scans loads a few thousand); an unknown value still raises as before.
_STATUSES = {s.value: s for s in Status}
_SOURCES = {s.value: s for s in Source}
_EVENTS_OF = select(*_EVENT_COLUMNS).where(_E.c.consignment_id == bindparam("cid")).order_by(_E.c.seq)


class SqlConsignmentRepository(_Repo):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self._loaded_versions: dict[str, int] = {}
        self._stored_seq: dict[str, int] = {}
        self._written: dict[str, dict[str, Any]] = {}  # each consignment's row as loaded or last written

    def add(self, c: Consignment) -> None:
        # Parameters passed to execute() keep the statement constant, so SQLAlchemy compiles it once per process.
        row = _consignment_row(c)
        self.conn.execute(insert(_C), {**row, "last_polled_at": None})
        self._insert_events(c)
        self._loaded_versions[c.id] = c.version
        self._written[c.id] = row

    def get(self, consignment_id: str, *, agency_id: str | None = None) -> Consignment | None:
        q = select(_C).where(_C.c.id == consignment_id)
        if agency_id is not None:
            q = q.where(_C.c.agency_id == agency_id)
        row = self.conn.execute(q).mappings().first()
        return self._load(row) if row else None

    def by_token(self, token: str) -> Consignment | None:
        row = self.conn.execute(select(_C).where(_C.c.tracking_token == token)).mappings().first()
        return self._load(row) if row else None

    def get_many(self, consignment_ids: Sequence[str]) -> dict[str, Consignment]:
        """Several consignments with their events in two queries per 500 ids (a clerk's batch of scans)."""
        out: dict[str, Consignment] = {}
        ids = list(dict.fromkeys(consignment_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = list(self.conn.execute(select(_C).where(among(self.conn, _C.c.id, chunk))).mappings())
            events: dict[str, list[Any]] = {r["id"]: [] for r in rows}
            for e in self.conn.execute(
                select(*_EVENT_COLUMNS)
                .where(among(self.conn, _E.c.consignment_id, chunk))
                .order_by(_E.c.consignment_id, _E.c.seq)
            ):
                events[e[0]].append(e)
            for r in rows:
                out[r["id"]] = self._load(r, events[r["id"]])
        return out

    def save(self, c: Consignment) -> None:
        """Write changes with an optimistic version check, so two workers never overwrite each other silently."""
        self.save_many([c])

    def save_many(self, consignments: Sequence[Consignment]) -> None:
        """``save`` for several consignments: one UPDATE (executemany) and one INSERT of all their new events."""
        changed = []
        for c in consignments:
            loaded = self._loaded_versions.get(c.id)
            if loaded is None:
                raise RuntimeError("save() of a consignment this unit of work did not load")
            if loaded != c.version:
                changed.append((c, loaded))
        if not changed:
            return
        # Only the columns that changed are written (a scan changes the status, version and time), grouped so each
        # distinct set of columns is one executemany.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        rows = {}
        for c, loaded in changed:
            row = rows[c.id] = _consignment_row(c)
            before = self._written.get(c.id, {})
            columns = tuple(k for k, v in row.items() if k not in ("id", "created_at") and before.get(k, _UNSET) != v)
            groups.setdefault(columns, []).append(
                {"w_id": c.id, "w_version": loaded, **{"v_" + k: row[k] for k in columns}}
            )
        for columns, params in groups.items():
            res = self.conn.execute(_save_statement(columns), params)
            if res.rowcount != len(params):
                raise Conflict("The consignment was changed by someone else at the same time; try again.")
        self._insert_events(*(c for c, _ in changed))
        for c, _ in changed:
            self._loaded_versions[c.id] = c.version
            self._written[c.id] = rows[c.id]

    def search(
        self, *, agency_id: str, dossier_code: str | None, status: str | None, offset: int, limit: int
    ) -> tuple[list[Consignment], int]:
        cond = [_C.c.agency_id == agency_id]
        if dossier_code:
            cond.append(_C.c.dossier_code == dossier_code)
        if status:
            cond.append(_C.c.status == status)
        total = self.conn.execute(select(func.count()).select_from(_C).where(*cond)).scalar_one()
        rows = self.conn.execute(
            select(_C).where(*cond).order_by(_C.c.created_at.desc(), _C.c.id).offset(offset).limit(limit)
        ).mappings()
        return [self._load(r) for r in rows], total

    def find_id(self, carrier: str, *, tracking_code: str | None = None, client_ref: str | None = None) -> str | None:
        cond = [_C.c.carrier == carrier]
        if tracking_code:
            cond.append(_C.c.tracking_code == tracking_code)
        elif client_ref:
            cond.append(_C.c.client_ref == client_ref)
        else:
            return None
        return self.conn.execute(select(_C.c.id).where(*cond).order_by(_C.c.created_at.desc()).limit(1)).scalar()

    def find_ids(
        self, carrier: str, *, tracking_codes: Sequence[str], client_refs: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        by_code: dict[str, str] = {}
        by_ref: dict[str, str] = {}
        for column, wanted, out in (
            (_C.c.tracking_code, tracking_codes, by_code),
            (_C.c.client_ref, client_refs, by_ref),
        ):
            values = sorted({v for v in wanted if v})
            for start in range(0, len(values), 500):
                rows = self.conn.execute(
                    select(column, _C.c.id)
                    .where(_C.c.carrier == carrier, column.in_(values[start : start + 500]))
                    .order_by(_C.c.created_at)  # the newest wins, as in find_id
                )
                out.update({value: cid for value, cid in rows})
        return by_code, by_ref

    def due_for_poll(self, *, carriers: Sequence[str], now: datetime, limit: int) -> list[str]:
        q = (
            select(_C.c.id)
            .where(
                _C.c.carrier.in_(list(carriers)),
                _C.c.tracking_code.is_not(None),
                _C.c.status.not_in([s.value for s in TERMINAL]),
                or_(_C.c.next_poll_at.is_(None), _C.c.next_poll_at <= now),
            )
            .order_by(_C.c.next_poll_at.is_not(None), _C.c.next_poll_at)
            .limit(limit)
        )
        return list(self.conn.execute(q).scalars())

    def poll_failures(self, consignment_id: str) -> int:
        return self.conn.execute(select(_C.c.poll_failures).where(_C.c.id == consignment_id)).scalar() or 0

    def schedule_poll(self, consignment_ids: Sequence[str], *, next_at: datetime, failures: int = 0) -> None:
        if consignment_ids:
            self.conn.execute(
                update(_C)
                .where(_C.c.id.in_(list(consignment_ids)))
                .values(next_poll_at=next_at, poll_failures=failures)
            )

    def _insert_events(self, *consignments: Consignment) -> None:
        rows = []
        for c in consignments:
            stored = self._stored_seq.get(c.id, 0)
            fresh = [e for e in c.events if e.seq > stored]
            rows += [
                {
                    "consignment_id": c.id,
                    "seq": e.seq,
                    "status": e.status.value,
                    "previous_status": e.previous_status.value if e.previous_status else None,
                    "occurred_at": e.occurred_at,
                    "source": e.source.value,
                    "actor": e.actor,
                    "location": e.location,
                    "description": e.description,
                }
                for e in fresh
            ]
            if fresh:
                self._stored_seq[c.id] = fresh[-1].seq
        if rows:
            self.conn.execute(insert(_E), rows)

    def _load(self, r: Any, event_rows: Sequence[Any] | None = None) -> Consignment:
        if event_rows is None:
            event_rows = list(self.conn.execute(_EVENTS_OF, {"cid": r["id"]}))
        events = [
            ConsignmentEvent(
                status=_STATUSES.get(status) or Status(status),
                previous_status=(_STATUSES.get(previous) or Status(previous)) if previous else None,
                occurred_at=occurred_at,
                source=_SOURCES.get(source) or Source(source),
                actor=actor,
                location=location,
                description=description,
                seq=seq,
            )
            for _, seq, status, previous, occurred_at, source, actor, location, description in event_rows
        ]
        c = Consignment(
            id=r["id"],
            agency_id=r["agency_id"],
            api_key_id=r["api_key_id"],
            kind=Kind(r["kind"]),
            status=Status(r["status"]),
            carrier=r["carrier"],
            service=r["service"],
            dossier=DossierLink(
                code=r["dossier_code"],
                procedure_code=r["procedure_code"],
                procedure_name=r["procedure_name"],
                appointment_date=r["appointment_date"],
            ),
            citizen=Party(
                name=r["citizen_name"],
                phone=Phone(r["citizen_phone"]),
                address=Address(
                    line=r["address_line"],
                    ward_code=r["ward_code"],
                    province_code=r["province_code"],
                    scheme=r["address_scheme"],
                ),
            ),
            parcel=Parcel(
                weight_g=r["weight_g"],
                contents=r["contents"],
                documents=tuple(Document(**d) for d in (r["documents"] or [])),
            ),
            postage_vnd=r["postage_vnd"],
            **{f: r[f] for f in _EXTRA_FIELDS},
            cod_vnd=r["cod_vnd"],
            options=dict(r["options"] or {}),
            tracking_token=r["tracking_token"],
            tracking_code=r["tracking_code"],
            carrier_ref=r["carrier_ref"],
            booking_attempt=r["booking_attempt"],
            version=r["version"],
            created_at=r["created_at"],
            events=events,
        )
        self._loaded_versions[c.id] = c.version
        self._stored_seq[c.id] = events[-1].seq if events else 0
        # The row as read is what a later save diffs against (rebuilding it from the aggregate cost as much as the read)
        self._written[c.id] = dict(r)
        return c


_UNSET = object()
_SAVE_STATEMENTS: dict[tuple[str, ...], Any] = {}


def _save_statement(columns: tuple[str, ...]) -> Any:
    """UPDATE … SET every column WHERE id and version match, with bound parameters: built once, compiled once."""
    stmt = _SAVE_STATEMENTS.get(columns)
    if stmt is None:
        stmt = (
            update(_C)
            .where(_C.c.id == bindparam("w_id"), _C.c.version == bindparam("w_version"))
            .values({name: bindparam("v_" + name, type_=_C.c[name].type) for name in columns})
        )
        _SAVE_STATEMENTS[columns] = stmt
    return stmt


# Columns stored as they are on the aggregate.
_EXTRA_FIELDS = (
    "address_status",
    "address_legacy_text",
    "address_confirmed_by",
    "address_confirmed_at",
    "geo_lat",
    "geo_lon",
    "geo_approximate",
    "route_class",
    "j_date",
    "due_date",
    "fee_vnd",
    "payer",
    "post_office_code",
    "result_ready_at",
    "agency_outcome",
    "agency_outcome_at",
    "personal_data_purged_at",
    "citizen_id_type",
    "citizen_id_last4",
)


def _consignment_row(c: Consignment) -> dict[str, Any]:
    last = c.events[-1].occurred_at if c.events else c.created_at
    return {
        "id": c.id,
        "agency_id": c.agency_id,
        "api_key_id": c.api_key_id,
        "kind": c.kind.value,
        "status": c.status.value,
        "carrier": c.carrier,
        "service": c.service,
        "dossier_code": c.dossier.code,
        "procedure_code": c.dossier.procedure_code,
        "procedure_name": c.dossier.procedure_name,
        "appointment_date": c.dossier.appointment_date,
        "citizen_name": c.citizen.name,
        "citizen_phone": c.citizen.phone.e164,
        "address_line": c.citizen.address.line,
        "ward_code": c.citizen.address.ward_code,
        "province_code": c.citizen.address.province_code,
        "address_scheme": c.citizen.address.scheme,
        "weight_g": c.parcel.weight_g,
        "contents": c.parcel.contents,
        "documents": [d.__dict__ for d in c.parcel.documents],
        "postage_vnd": c.postage_vnd,
        **{f: getattr(c, f) for f in _EXTRA_FIELDS},
        "cod_vnd": c.cod_vnd,
        "options": c.options,
        "tracking_token": c.tracking_token,
        "tracking_code": c.tracking_code,
        "carrier_ref": c.carrier_ref,
        # Stored from the start, so that a courier's news of an order whose create answer we lost (it echoes our
        # reference) finds its consignment before we could book it (services.tracking.fold books it then).
        "client_ref": c.client_ref,
        "booking_attempt": c.booking_attempt,
        "version": c.version,
        "created_at": c.created_at,
        "updated_at": max(last, c.created_at),
    }


_EV = t.carrier_events


class SqlCarrierEventRepository(_Repo):
    def add_if_new(self, event: TrackingEvent, *, consignment_id: str | None, received_at: datetime) -> bool:
        """Insert a raw courier event unless its dedup key was seen; a savepoint keeps the transaction usable."""
        seen = self.conn.execute(
            select(_EV.c.id).where(_EV.c.carrier == event.carrier, _EV.c.dedup_key == event.dedup_key)
        ).first()
        if seen:
            return False
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(_EV), _event_row(event, consignment_id, received_at))
        except IntegrityError:
            return False
        return True

    def add_many_if_new(
        self, events: Sequence[tuple[TrackingEvent, str | None]], *, received_at: datetime
    ) -> list[bool]:
        """One query for the dedup keys already stored and one INSERT of the new events (a courier's batch push).

        Should another process store one of the same events meanwhile, the UNIQUE key refuses the INSERT; then each
        event goes through ``add_if_new`` under its own savepoint, so the outcome is the same as one by one."""
        if not events:
            return []
        carrier = events[0][0].carrier
        if any(e.carrier != carrier for e, _ in events):
            return [self.add_if_new(e, consignment_id=cid, received_at=received_at) for e, cid in events]
        keys = list(dict.fromkeys(e.dedup_key[:300] for e, _ in events))
        seen: set[str] = set()
        for start in range(0, len(keys), 500):
            seen.update(
                self.conn.execute(
                    select(_EV.c.dedup_key).where(
                        _EV.c.carrier == carrier, _EV.c.dedup_key.in_(keys[start : start + 500])
                    )
                ).scalars()
            )
        fresh: list[bool] = []
        rows = []
        for event, cid in events:
            key = event.dedup_key[:300]
            if key in seen:
                fresh.append(False)
                continue
            seen.add(key)
            fresh.append(True)
            rows.append(_event_row(event, cid, received_at))
        if not rows:
            return fresh
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(_EV), rows)
        except IntegrityError:
            return [self.add_if_new(e, consignment_id=cid, received_at=received_at) for e, cid in events]
        return fresh

    def pending(self, consignment_id: str) -> list[tuple[int, TrackingEvent]]:
        return self.pending_many([consignment_id]).get(consignment_id, [])

    def pending_many(self, consignment_ids: Sequence[str]) -> dict[str, list[tuple[int, TrackingEvent]]]:
        out: dict[str, list[tuple[int, TrackingEvent]]] = {}
        ids = list(dict.fromkeys(consignment_ids))
        for start in range(0, len(ids), 500):
            rows = self.conn.execute(
                select(_EV)
                .where(_EV.c.consignment_id.in_(ids[start : start + 500]), _EV.c.processed.is_(False))
                .order_by(_EV.c.occurred_at, _EV.c.id)
            ).mappings()
            for r in rows:
                out.setdefault(r["consignment_id"], []).append((r["id"], _tracking_event(r)))
        return out

    def settle(self, event_id: int, *, applied: bool) -> None:
        self.settle_many([(event_id, applied)])

    def settle_many(self, settled: Sequence[tuple[int, bool]]) -> None:
        if settled:
            self.conn.execute(_SETTLE, [{"e_id": event_id, "e_applied": applied} for event_id, applied in settled])

    def adopt(self, carrier: str, carrier_ref: str, consignment_id: str) -> int:
        res = self.conn.execute(
            update(_EV)
            .where(_EV.c.carrier == carrier, _EV.c.carrier_ref == carrier_ref, _EV.c.consignment_id.is_(None))
            .values(consignment_id=consignment_id)
        )
        return res.rowcount


_SETTLE = update(_EV).where(_EV.c.id == bindparam("e_id")).values(processed=True, applied=bindparam("e_applied"))


def _tracking_event(r: Any) -> TrackingEvent:
    return TrackingEvent(
        carrier=r["carrier"],
        carrier_ref=r["carrier_ref"],
        occurred_at=r["occurred_at"],
        raw_code=r["raw_code"],
        status=CourierStatus(r["status"]),
        dedup_key=r["dedup_key"],
        raw_text=r["raw_text"],
        location=r["location"],
        reason=r["reason"],
        provisional=r["provisional"],
        source=r["source"],
        raw=r["raw"],
    )


def _event_row(event: TrackingEvent, consignment_id: str | None, received_at: datetime) -> dict[str, Any]:
    raw = event.raw if isinstance(event.raw, dict | list | str | None) else str(event.raw)
    return {
        "carrier": event.carrier,
        "dedup_key": event.dedup_key[:300],
        "consignment_id": consignment_id,
        "carrier_ref": event.carrier_ref,
        "raw_code": event.raw_code[:64],
        "status": event.status.value,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "provisional": event.provisional,
        "applied": False,
        "processed": False,
        "source": event.source,
        "raw_text": (event.raw_text or "")[:500],
        "location": (event.location or None) and event.location[:200],
        "reason": event.reason,
        "raw": raw,
    }


class SqlCarrierSettingsRepository(_Repo):
    _T = t.carrier_settings

    def get(self, agency_id: str, carrier: str) -> CarrierConfig | None:
        row = (
            self.conn.execute(select(self._T).where(self._T.c.agency_id == agency_id, self._T.c.carrier == carrier))
            .mappings()
            .first()
        )
        return CarrierConfig(**row) if row else None

    def put(self, config: CarrierConfig) -> None:
        self.conn.execute(
            self._T.delete().where(self._T.c.agency_id == config.agency_id, self._T.c.carrier == config.carrier)
        )
        self.conn.execute(insert(self._T).values(**config.__dict__))

    def for_agency(self, agency_id: str) -> list[CarrierConfig]:
        rows = self.conn.execute(select(self._T).where(self._T.c.agency_id == agency_id).order_by(self._T.c.carrier))
        return [CarrierConfig(**r) for r in rows.mappings()]

    def for_carrier(self, carrier: str) -> list[CarrierConfig]:
        rows = self.conn.execute(select(self._T).where(self._T.c.carrier == carrier).order_by(self._T.c.agency_id))
        return [CarrierConfig(**r) for r in rows.mappings()]


class SqlCursorRepository(_Repo):
    _T = t.carrier_cursors

    def get(self, agency_id: str, carrier: str) -> str | None:
        return self.conn.execute(
            select(self._T.c.cursor).where(self._T.c.agency_id == agency_id, self._T.c.carrier == carrier)
        ).scalar()

    def put(self, agency_id: str, carrier: str, cursor: str | None, now: datetime) -> None:
        self.conn.execute(self._T.delete().where(self._T.c.agency_id == agency_id, self._T.c.carrier == carrier))
        self.conn.execute(insert(self._T).values(agency_id=agency_id, carrier=carrier, cursor=cursor, updated_at=now))


_O = t.outbox
_LIVE = (OutboxState.PENDING.value, OutboxState.IN_FLIGHT.value)


def _live(state: Any) -> Any:
    """Pending or in flight, as two comparisons: an ``IN`` list would be an expanding parameter, which statements
    built once and run with their own parameters (``_claim_statement``) cannot carry."""
    return or_(state == OutboxState.PENDING.value, state == OutboxState.IN_FLIGHT.value)


def _not_blocked():
    """No older item of the same ordering group is still pending or in flight (or the item has no group)."""
    earlier = _O.alias("earlier")
    blocked = exists(
        select(earlier.c.id).where(
            earlier.c.ordering_key == _O.c.ordering_key,
            earlier.c.id < _O.c.id,
            _live(earlier.c.state),
        )
    )
    return or_(_O.c.ordering_key.is_(None), ~blocked)


@functools.cache
def _claim_statement():
    """The claim as one ``UPDATE … RETURNING``, built once: a worker claims an item per job, and building this
    expression (an aliased ``EXISTS`` subquery) cost more Python time than running it; so did a second ``SELECT``."""
    when = _O.c.next_attempt_at.type
    now = bindparam("p_now", type_=when)
    return (
        update(_O)
        .where(
            _O.c.id == bindparam("p_id"),
            or_(
                and_(_O.c.state == OutboxState.PENDING.value, _O.c.next_attempt_at <= now),
                and_(_O.c.state == OutboxState.IN_FLIGHT.value, _O.c.lease_until < now),
            ),
            _not_blocked(),
        )
        .values(
            state=OutboxState.IN_FLIGHT.value,
            lease_until=bindparam("p_lease_until", type_=when),
            attempts=_O.c.attempts + 1,
        )
        .returning(*_O.c)
    )


@functools.cache
def _next_in_group_statement():
    return select(_O.c.id).where(_O.c.ordering_key == bindparam("p_key"), _live(_O.c.state)).order_by(_O.c.id).limit(1)


_NEXT_OUTBOX_IDS = text("SELECT nextval(pg_get_serial_sequence('outbox', 'id')) FROM generate_series(1, :n)")


class SqlOutboxRepository(_Repo):
    def add(self, item: OutboxItem) -> None:
        res = self.conn.execute(insert(_O), _outbox_row(item))
        item.id = res.inserted_primary_key[0]

    def add_many(self, items: Sequence[OutboxItem]) -> None:
        """One INSERT … RETURNING for many rows; ids come back in the order given, so ordering groups keep theirs."""
        if not items:
            return
        if len(items) == 1:
            self.add(items[0])
            return
        rows = [_outbox_row(i) for i in items]
        if self.conn.dialect.name == "sqlite":
            # SQLAlchemy cannot vouch for the order of RETURNING here and falls back to one INSERT per row (100
            # statements for a scan batch's callbacks). SQLite numbers the rows of one multi-row INSERT in VALUES
            # order (rowid = max + 1, the write lock held), so the returned ids, sorted, are the items' in order.
            ids = sorted(self.conn.execute(insert(_O).returning(_O.c.id), rows).scalars())
        else:
            # INSERT … RETURNING of many rows is one statement of ~10 parameters a row, which psycopg translates anew
            # on every execution (it caches statements of at most 50): ≈ 5 ms of CPU for a scan batch's 100
            # callbacks. The ids are drawn from the sequence first, ascending in the order given, and the rows
            # inserted with them by executemany (one short prepared statement, pipelined).
            ids = sorted(self.conn.execute(_NEXT_OUTBOX_IDS, {"n": len(rows)}).scalars())
            self.conn.execute(insert(_O), [{"id": new_id, **row} for new_id, row in zip(ids, rows, strict=True)])
        for item, new_id in zip(items, ids, strict=True):
            item.id = new_id

    def get(self, item_id: int) -> OutboxItem | None:
        row = self.conn.execute(select(_O).where(_O.c.id == item_id)).mappings().first()
        return _outbox(row) if row else None

    def claim(self, item_id: int, *, now: datetime, lease_until: datetime) -> OutboxItem | None:
        """Take the lease on an item if it is due (or its lease expired) and no older item of its group is live."""
        row = (
            self.conn.execute(_claim_statement(), {"p_id": item_id, "p_now": now, "p_lease_until": lease_until})
            .mappings()
            .first()
        )
        return _outbox(row) if row else None

    def claim_many(
        self, item_ids: Sequence[int], *, kinds: Sequence[str], now: datetime, lease_until: datetime
    ) -> list[OutboxItem]:
        """``claim`` for several items of ``kinds`` in one statement; the ones not claimable are left out."""
        if not item_ids or not kinds:
            return []
        rows = self.conn.execute(
            update(_O)
            .where(
                _O.c.id.in_(list(item_ids)),
                _O.c.kind.in_(list(kinds)),
                or_(
                    and_(_O.c.state == OutboxState.PENDING.value, _O.c.next_attempt_at <= now),
                    and_(_O.c.state == OutboxState.IN_FLIGHT.value, _O.c.lease_until < now),
                ),
                _not_blocked(),
            )
            .values(state=OutboxState.IN_FLIGHT.value, lease_until=lease_until, attempts=_O.c.attempts + 1)
            .returning(*_O.c)
        ).mappings()
        return sorted((_outbox(r) for r in rows), key=lambda item: item.id or 0)

    def claim_due(
        self, *, shares: Sequence[tuple[Sequence[str], int]], now: datetime, lease_until: datetime
    ) -> list[OutboxItem]:
        """``claim`` for the oldest due items of each share's kinds, up to its limit, found and claimed in one
        statement (a drain job's round). Rows another drain is claiming at the same moment are skipped, not waited
        for (PostgreSQL's ``SKIP LOCKED``; SQLite's one writer needs no such care)."""
        due = or_(
            and_(_O.c.state == OutboxState.PENDING.value, _O.c.next_attempt_at <= now),
            and_(_O.c.state == OutboxState.IN_FLIGHT.value, _O.c.lease_until < now),
        )
        arms = [
            select(
                select(_O.c.id)
                .where(_O.c.kind.in_(list(kinds)), due, _not_blocked())
                .order_by(_O.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .subquery()
                .c.id
            )
            for kinds, limit in shares
            if kinds and limit > 0
        ]
        if not arms:
            return []
        # A CTE computed once: as a plain ``IN (subquery)`` PostgreSQL may run the LIMIT … SKIP LOCKED subquery again
        # per row it checks and so claim past the limit (seen: six rows for a limit of four).
        chosen = (arms[0] if len(arms) == 1 else union_all(*arms)).cte("chosen").prefix_with("MATERIALIZED")
        rows = self.conn.execute(
            update(_O)
            .where(_O.c.id.in_(select(chosen.c.id)), due)
            .values(state=OutboxState.IN_FLIGHT.value, lease_until=lease_until, attempts=_O.c.attempts + 1)
            .returning(*_O.c)
        ).mappings()
        return sorted((_outbox(r) for r in rows), key=lambda item: item.id or 0)

    def complete_many(self, claims: Sequence[tuple[int, int]], *, now: datetime) -> set[int]:
        """``complete`` for several (id, attempt) claims in one statement; returns the ids still ours and now done."""
        return self._settle_many(claims, state=OutboxState.DONE.value, completed_at=now, last_error=None)

    def release_many(self, claims: Sequence[tuple[int, int]]) -> set[int]:
        """Hand claimed items back unstarted: pending again, their claim not counted as an attempt."""
        return self._settle_many(claims, state=OutboxState.PENDING.value, attempts=_O.c.attempts - 1)

    def _settle_many(self, claims: Sequence[tuple[int, int]], **values: Any) -> set[int]:
        if not claims:
            return set()
        rows = self.conn.execute(
            update(_O)
            .where(tuple_(_O.c.id, _O.c.attempts).in_(list(claims)), _O.c.state == OutboxState.IN_FLIGHT.value)
            .values(lease_until=None, **values)
            .returning(_O.c.id)
        )
        return set(rows.scalars())

    def next_in_groups(self, ordering_keys: Sequence[str]) -> list[int]:
        """``next_in_group`` for several groups in one query."""
        if not ordering_keys:
            return []
        rows = self.conn.execute(
            select(func.min(_O.c.id))
            .where(_O.c.ordering_key.in_(list(ordering_keys)), _live(_O.c.state))
            .group_by(_O.c.ordering_key)
        )
        return sorted(rows.scalars())

    def _settle(self, item_id: int, attempt: int, **values: Any) -> bool:
        res = self.conn.execute(
            update(_O)
            .where(_O.c.id == item_id, _O.c.state == OutboxState.IN_FLIGHT.value, _O.c.attempts == attempt)
            .values(lease_until=None, **values)
        )
        return res.rowcount == 1

    def complete(self, item_id: int, *, attempt: int, now: datetime) -> bool:
        return self._settle(item_id, attempt, state=OutboxState.DONE.value, completed_at=now, last_error=None)

    def retry_later(self, item_id: int, *, attempt: int, next_attempt_at: datetime, error: str) -> bool:
        return self._settle(
            item_id, attempt, state=OutboxState.PENDING.value, next_attempt_at=next_attempt_at, last_error=error
        )

    def dead(self, item_id: int, *, attempt: int, now: datetime, error: str) -> bool:
        return self._settle(item_id, attempt, state=OutboxState.DEAD.value, completed_at=now, last_error=error)

    def due(self, *, now: datetime, limit: int) -> list[int]:
        """Items a job could claim now. One waiting behind an older live item of its group is left out: claiming it
        would fail, and relaying it every round kept workers busy with wake-ups that do nothing while other queues
        waited; it is woken when the item before it settles (``outbox.process``), or found here after that."""
        q = (
            select(_O.c.id)
            .where(
                or_(
                    and_(_O.c.state == OutboxState.PENDING.value, _O.c.next_attempt_at <= now),
                    and_(_O.c.state == OutboxState.IN_FLIGHT.value, _O.c.lease_until < now),
                ),
                _not_blocked(),
            )
            .order_by(_O.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(q).scalars())

    def next_in_group(self, ordering_key: str) -> int | None:
        return self.conn.execute(_next_in_group_statement(), {"p_key": ordering_key}).scalar()

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute(select(_O.c.state, func.count()).group_by(_O.c.state)).all()
        return {state: n for state, n in rows}


def _outbox_row(item: OutboxItem) -> dict[str, Any]:
    return {
        "kind": item.kind.value,
        "consignment_id": item.consignment_id,
        "ordering_key": item.ordering_key,
        "payload": item.payload,
        "state": item.state.value,
        "attempts": item.attempts,
        "next_attempt_at": item.next_attempt_at,
        "lease_until": item.lease_until,
        "last_error": item.last_error,
        "created_at": item.created_at,
    }


def _outbox(r: Any) -> OutboxItem:
    return OutboxItem(
        id=r["id"],
        kind=OutboxKind(r["kind"]),
        consignment_id=r["consignment_id"],
        ordering_key=r["ordering_key"],
        payload=dict(r["payload"]),
        state=OutboxState(r["state"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        lease_until=r["lease_until"],
        last_error=r["last_error"],
        created_at=r["created_at"],
        completed_at=r["completed_at"],
    )


_I = t.idempotency_keys


class SqlIdempotencyRepository(_Repo):
    def insert(self, record: IdempotencyRecord) -> bool:
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(_I).values(**record.__dict__, completed_at=None))
        except IntegrityError:
            return False
        return True

    def insert_done(self, record: IdempotencyRecord) -> bool:
        """Store a finished request's key and answer unless the key is already there (then ``False``).

        ``ON CONFLICT DO NOTHING`` instead of a savepoint around a plain INSERT: no extra round trips, and the
        surrounding transaction stays usable either way."""
        values = {**record.__dict__, "completed_at": record.created_at}
        if self.conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        elif self.conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as upsert
        else:  # pragma: no cover - the two databases we run on
            return self.insert(record)
        stmt = upsert(_I).values(**values).on_conflict_do_nothing().returning(_I.c.key)
        return self.conn.execute(stmt).first() is not None  # rowcount is not reliable here on psycopg

    def get(self, principal_id: str, key: str) -> IdempotencyRecord | None:
        row = self.conn.execute(select(_I).where(_I.c.principal_id == principal_id, _I.c.key == key)).mappings().first()
        if not row:
            return None
        data = dict(row)
        data.pop("completed_at")
        return IdempotencyRecord(**data)

    def take_over(self, principal_id: str, key: str, *, stale_before: datetime, now: datetime) -> bool:
        res = self.conn.execute(
            update(_I)
            .where(_I.c.principal_id == principal_id, _I.c.key == key, _I.c.state == "in_progress")
            .where(_I.c.created_at < stale_before)
            .values(created_at=now)
        )
        return res.rowcount == 1

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
        res = self.conn.execute(
            update(_I)
            .where(_I.c.principal_id == principal_id, _I.c.key == key)
            .where(_I.c.state == "in_progress", _I.c.created_at == claimed_at)
            .values(state="done", response_status=status, response_body=body, resource_id=resource_id, completed_at=now)
        )
        return res.rowcount == 1


class SqlLabelRepository(_Repo):
    def get(self, consignment_id: str, tracking_code: str) -> bytes | None:
        return self.conn.execute(
            select(t.labels.c.pdf).where(
                t.labels.c.consignment_id == consignment_id, t.labels.c.tracking_code == tracking_code
            )
        ).scalar()

    def put(self, consignment_id: str, tracking_code: str, pdf: bytes, now: datetime) -> None:
        self.conn.execute(t.labels.delete().where(t.labels.c.consignment_id == consignment_id))
        self.conn.execute(
            insert(t.labels).values(consignment_id=consignment_id, tracking_code=tracking_code, pdf=pdf, created_at=now)
        )


class SqlHandoverRepository(_Repo):
    def add(self, h: Handover) -> None:
        self.conn.execute(
            insert(t.handovers).values(
                id=h.id,
                agency_id=h.agency_id,
                direction=h.direction.value,
                created_at=h.created_at,
                created_by=h.created_by,
                place=h.place,
                post_signatory=h.post_signatory,
                agency_signatory=h.agency_signatory,
                agency_confirmed_by=h.agency_confirmed_by,
                missing_ids=list(h.missing_ids) or None,
                note=h.note,
                session_id=h.session_id,
            )
        )
        self.conn.execute(
            insert(t.handover_items),
            [{"handover_id": h.id, "seq": i, "consignment_id": cid} for i, cid in enumerate(h.consignment_ids, 1)],
        )

    def get(self, handover_id: str, *, agency_id: str) -> Handover | None:
        row = (
            self.conn.execute(
                select(t.handovers).where(t.handovers.c.id == handover_id, t.handovers.c.agency_id == agency_id)
            )
            .mappings()
            .first()
        )
        if not row:
            return None
        ids = self.conn.execute(
            select(t.handover_items.c.consignment_id)
            .where(t.handover_items.c.handover_id == handover_id)
            .order_by(t.handover_items.c.seq)
        ).scalars()
        return Handover(
            id=row["id"],
            agency_id=row["agency_id"],
            direction=HandoverDirection(row["direction"]),
            consignment_ids=list(ids),
            created_at=row["created_at"],
            created_by=row["created_by"],
            place=row["place"],
            post_signatory=row["post_signatory"],
            agency_signatory=row["agency_signatory"],
            agency_confirmed_by=row["agency_confirmed_by"],
            missing_ids=list(row["missing_ids"] or []),
            note=row["note"] or "",
            session_id=row["session_id"],
        )


class SqlPrintLogRepository(_Repo):
    def add(self, record: PrintRecord) -> None:
        self.conn.execute(insert(t.label_prints).values(**record.__dict__))

    def printed(self, consignment_ids: Sequence[str], document: str) -> set[str]:
        if not consignment_ids:
            return set()
        return set(
            self.conn.execute(
                select(t.label_prints.c.consignment_id).where(
                    t.label_prints.c.consignment_id.in_(list(consignment_ids)), t.label_prints.c.document == document
                )
            ).scalars()
        )

    def history(self, consignment_id: str) -> list[PrintRecord]:
        rows = self.conn.execute(
            select(t.label_prints)
            .where(t.label_prints.c.consignment_id == consignment_id)
            .order_by(t.label_prints.c.id)
        ).mappings()
        return [PrintRecord(**{k: v for k, v in r.items() if k != "id"}) for r in rows]

    def booked_not_printed(self, agency_id: str, limit: int) -> list[str]:
        printed = select(t.label_prints.c.consignment_id).where(t.label_prints.c.document == "label")
        return list(
            self.conn.execute(
                select(_C.c.id)
                .where(_C.c.agency_id == agency_id, _C.c.status == "booked", _C.c.id.not_in(printed))
                .order_by(_C.c.created_at, _C.c.id)
                .limit(limit)
            ).scalars()
        )


class SqlUserRepository(_Repo):
    """People who sign in, and their browser sessions (stored as token hashes)."""

    def add(self, user: User) -> None:
        self.conn.execute(insert(t.users).values(**_user_row(user)))

    def get(self, user_id: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.id == user_id)).mappings().first()
        return _user(row) if row else None

    def by_username(self, username: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.username == username)).mappings().first()
        return _user(row) if row else None

    def save(self, user: User) -> None:
        values = _user_row(user)
        values.pop("id")
        self.conn.execute(update(t.users).where(t.users.c.id == user.id).values(**values))

    def list(self, *, agency_id: str | None = None, post_office_code: str | None = None) -> list[User]:
        q = select(t.users).order_by(t.users.c.username)
        if agency_id is not None:
            q = q.where(t.users.c.agency_id == agency_id)
        if post_office_code is not None:
            q = q.where(t.users.c.post_office_code == post_office_code)
        return [_user(r) for r in self.conn.execute(q).mappings()]

    def add_session(self, session: UserSession) -> None:
        self.conn.execute(insert(t.user_sessions).values(**session.__dict__))

    def session(self, token_hash: str) -> UserSession | None:
        row = (
            self.conn.execute(select(t.user_sessions).where(t.user_sessions.c.token_hash == token_hash))
            .mappings()
            .first()
        )
        return UserSession(**row) if row else None

    def touch_session(self, token_hash: str, now: datetime) -> None:
        self.conn.execute(
            update(t.user_sessions).where(t.user_sessions.c.token_hash == token_hash).values(last_seen_at=now)
        )

    def revoke_sessions(self, *, now: datetime, token_hash: str | None = None, user_id: str | None = None) -> int:
        """Revoke one session (logout) or every session of a user (disabled, password changed)."""
        q = update(t.user_sessions).where(t.user_sessions.c.revoked_at.is_(None))
        if token_hash is not None:
            q = q.where(t.user_sessions.c.token_hash == token_hash)
        if user_id is not None:
            q = q.where(t.user_sessions.c.user_id == user_id)
        return self.conn.execute(q.values(revoked_at=now)).rowcount


def _user_row(u: User) -> dict[str, Any]:
    row = dict(u.__dict__)
    row["role"] = u.role.value
    return row


def _user(r: Any) -> User:
    data = dict(r)
    data["role"] = Role(data["role"])
    return User(**data)
