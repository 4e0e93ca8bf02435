"""The chaos suite's checker: after a run, query the database, every fake courier's ledger and the dossier
receiver's log, and assert the invariants of reference/engineering.md §10.7 (I1–I5).

``snapshot(...)`` gathers what the run left behind; ``check(snapshot)`` returns every violation found (an empty list
means the run was clean); ``assert_invariants(...)`` does both and fails with a readable report. The checks are pure
functions of the snapshot, so ``tests/chaos/test_checker.py`` breaks real runs on purpose (a deleted webhook row, a
duplicate ledger entry, a regressed status, a forged delivery, personal data on a page) and proves each one fails.

- **I1 nothing lost** — every 2xx create has exactly one consignment, which its Idempotency-Key record names; every
  consignment event has a callback row per receiver that was delivered (the receiver accepted its webhook-id) or
  dead-lettered with an alert; a consignment still ``requested`` has a live booking, or a dead-lettered one with an
  alert; no work is left due and unclaimed.
- **I2 nothing duplicated** — exactly one order per booked consignment in each fake courier's ledger (and no order the
  bridge does not know); one consignment per (caller, Idempotency-Key); distinct webhook-ids accepted = callback rows
  done; one stored label per booked consignment, for its current tracking code.
- **I3 order** — each consignment's events form one chain of allowed transitions with non-decreasing times, and its
  status is the last one; callbacks reached the receiver in event order.
- **I4 authenticity** — every delivery the receiver saw verifies against the API key's current or previous secret.
- **I5 privacy** — no citizen's full name, phone number (in any spacing) or street line in a webhook body, on a
  tracking page, or in the processes' logs.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from adapters.dossier.signing import SignatureError, verify
from postal_bridge.domain.status import Kind, Status, allowed
from postal_bridge.domain.webhooks import STATUS_CHANGED
from postal_bridge.storage import tables as t

UNBOOKED = frozenset({Status.AWAITING_RESULT.value, Status.REQUESTED.value, Status.BOOKING_FAILED.value})


@dataclass(frozen=True)
class CreateAttempt:
    """One POST /api/v1/consignments as the client saw it (status None: no answer, e.g. the connection died)."""

    principal_id: str
    key: str
    body: dict[str, Any]
    status: int | None
    consignment_id: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class Citizen:
    name: str
    phone: str  # as sent, any format
    line: str  # street line

    @property
    def nsn(self) -> str:
        """The national significant number (9 digits for a mobile), the part every format of the phone contains."""
        digits = re.sub(r"\D", "", self.phone)
        return digits[2:] if digits.startswith("84") else digits.lstrip("0")


@dataclass(frozen=True)
class Violation:
    invariant: str  # I1 … I5
    what: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.what}"


@dataclass
class Snapshot:
    now: datetime
    consignments: dict[str, dict[str, Any]]
    events: dict[str, list[dict[str, Any]]]  # consignment id → events by seq
    outbox: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    idempotency: list[dict[str, Any]]
    labels: dict[str, str]  # consignment id → tracking code of the stored label
    api_keys: dict[str, dict[str, Any]]
    deliveries: list[dict[str, Any]]  # the receiver's log, in arrival order
    ledgers: dict[str, list[dict[str, Any]]]  # fake courier code → /__fake/orders
    creates: list[CreateAttempt]
    pages: dict[str, str] = field(default_factory=dict)  # consignment id → its public tracking page (HTML)
    logs: dict[str, str] = field(default_factory=dict)  # log name → text
    replayed_ids: set[str] = field(default_factory=set)  # webhook-ids replayed by hand (exempt from the order check)
    settled: bool = True  # the harness claims all due work has run


def snapshot(
    engine: Engine,
    *,
    now: datetime,
    receiver: Any,
    ledgers: Mapping[str, list[dict[str, Any]]],
    creates: Sequence[CreateAttempt],
    pages: Mapping[str, str] | None = None,
    logs: Mapping[str, str] | None = None,
    replayed_ids: Iterable[str] = (),
    settled: bool = True,
) -> Snapshot:
    with engine.connect() as conn:
        consignments = {r["id"]: dict(r) for r in conn.execute(select(t.consignments)).mappings()}
        events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in conn.execute(select(t.consignment_events).order_by(t.consignment_events.c.seq)).mappings():
            events[r["consignment_id"]].append(dict(r))
        outbox = [dict(r) for r in conn.execute(select(t.outbox).order_by(t.outbox.c.id)).mappings()]
        alerts = [dict(r) for r in conn.execute(select(t.alerts)).mappings()]
        idempotency = [dict(r) for r in conn.execute(select(t.idempotency_keys)).mappings()]
        labels = {
            r.consignment_id: r.tracking_code
            for r in conn.execute(select(t.labels.c.consignment_id, t.labels.c.tracking_code))
        }
        api_keys = {r["id"]: dict(r) for r in conn.execute(select(t.api_keys)).mappings()}
    return Snapshot(
        now=now,
        consignments=consignments,
        events=dict(events),
        outbox=outbox,
        alerts=alerts,
        idempotency=idempotency,
        labels=labels,
        api_keys=api_keys,
        deliveries=list(receiver.deliveries),
        ledgers={code: list(orders) for code, orders in ledgers.items()},
        creates=list(creates),
        pages=dict(pages or {}),
        logs=dict(logs or {}),
        replayed_ids=set(replayed_ids),
        settled=settled,
    )


def assert_invariants(snap: Snapshot) -> None:
    found = check(snap)
    if found:
        by_kind = Counter(v.invariant for v in found)
        shown = "\n  ".join(str(v) for v in found[:25])
        more = f"\n  … and {len(found) - 25} more" if len(found) > 25 else ""
        raise AssertionError(f"{len(found)} invariant violations {dict(by_kind)}:\n  {shown}{more}")


def check(snap: Snapshot) -> list[Violation]:
    out: list[Violation] = []
    callbacks = _status_callbacks(snap, out)
    out += _creates(snap)
    out += _work(snap)
    out += _callbacks_delivered(snap, callbacks)
    out += _ledgers(snap)
    out += _labels(snap)
    out += _order(snap, callbacks)
    out += _authenticity(snap)
    out += _privacy(snap)
    return out


# -- I1 / I2: creates and Idempotency-Keys ---------------------------------------------------------------------------


def _creates(snap: Snapshot) -> list[Violation]:
    out = []
    records = {(r["principal_id"], r["key"]): r for r in snap.idempotency}
    answered: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in snap.creates:
        if a.status is None or not 200 <= a.status < 300:
            continue
        if not a.consignment_id:
            out.append(Violation("I1", f"create with key {a.key!r} answered {a.status} without an id"))
            continue
        answered[(a.principal_id, a.key)].add(a.consignment_id)
        if a.consignment_id not in snap.consignments:
            out.append(Violation("I1", f"create with key {a.key!r} answered {a.status} but {a.consignment_id} is gone"))
        record = records.get((a.principal_id, a.key))
        if record is None or record["state"] != "done" or record["resource_id"] != a.consignment_id:
            out.append(Violation("I1", f"key {a.key!r}: its stored record does not name {a.consignment_id}"))
    for (_, key), ids in answered.items():
        if len(ids) > 1:
            out.append(Violation("I2", f"key {key!r} answered with {len(ids)} different consignments: {sorted(ids)}"))
    resources = Counter(r["resource_id"] for r in snap.idempotency if r["resource_id"])
    for cid, c in snap.consignments.items():
        if c["api_key_id"] and resources[cid] != 1:
            out.append(
                Violation("I2", f"consignment {cid} is named by {resources[cid]} Idempotency-Key records, not 1")
            )
    return out


# -- I1: work left behind, bookings ----------------------------------------------------------------------------------


def _work(snap: Snapshot) -> list[Violation]:
    out = []
    alerted = {a["subject"] for a in snap.alerts}
    books: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in snap.outbox:
        if row["kind"] == "book" and row["consignment_id"]:
            books[row["consignment_id"]].append(row)
        if not snap.settled:
            continue
        due = row["state"] == "pending" and _aware(row["next_attempt_at"]) <= snap.now
        lapsed = row["state"] == "in_flight" and (row["lease_until"] is None or _aware(row["lease_until"]) < snap.now)
        if due or lapsed:
            out.append(Violation("I1", f"outbox #{row['id']} ({row['kind']}) left {row['state']} and due: never run"))
    for cid, c in snap.consignments.items():
        rows = books.get(cid, [])
        if c["status"] != Status.REQUESTED.value or c["address_status"] == "suggested":
            continue
        if any(r["state"] in ("pending", "in_flight") for r in rows):
            continue
        if any(r["state"] == "dead" for r in rows):
            if f"consignment:{cid}" not in alerted:
                out.append(Violation("I1", f"consignment {cid}: booking dead-lettered without an alert"))
            continue
        states = [r["state"] for r in rows] or "none"
        out.append(Violation("I1", f"consignment {cid} is requested with no live booking (book rows: {states})"))
    return out


# -- I1 / I2: status callbacks ---------------------------------------------------------------------------------------


@dataclass
class _Callback:
    row: dict[str, Any]
    message_id: str
    data: dict[str, Any]


def _status_callbacks(snap: Snapshot, out: list[Violation]) -> dict[str, list[_Callback]]:
    """Callback rows per consignment; checks one row per (event, receiver) — none missing, none doubled."""
    per: dict[str, list[_Callback]] = defaultdict(list)
    for row in snap.outbox:
        if row["kind"] != "notify_dossier":
            continue
        body = json.loads(row["payload"]["body"])
        if body.get("type") != STATUS_CHANGED:
            continue
        per[row["consignment_id"]].append(_Callback(row, row["payload"]["message_id"], body["data"]))
    for cid, c in snap.consignments.items():
        key = snap.api_keys.get(c["api_key_id"] or "")
        if key is None or not key["callback_url"]:
            continue
        expected = Counter(_event_sig(e) for e in snap.events.get(cid, []))
        got = Counter(
            _body_sig(cb.data) for cb in per.get(cid, []) if cb.row["payload"]["api_key_id"] == c["api_key_id"]
        )
        for sig in expected - got:
            out.append(Violation("I1", f"consignment {cid}: status change {sig[0]} has no callback row"))
        for sig in got - expected:
            n = got[sig] - expected.get(sig, 0)
            out.append(Violation("I2", f"consignment {cid}: {n} extra callback row(s) for {sig[0]} (no such event)"))
    return per


def _event_sig(e: Mapping[str, Any]) -> tuple[str, str | None, str]:
    return (e["status"], e["previous_status"], _aware(e["occurred_at"]).isoformat())


def _body_sig(d: Mapping[str, Any]) -> tuple[str, str | None, str]:
    return (d["status"], d["previous_status"], datetime.fromisoformat(d["occurred_at"]).astimezone(UTC).isoformat())


def _callbacks_delivered(snap: Snapshot, per: Mapping[str, list[_Callback]]) -> list[Violation]:
    out = []
    accepted = {d["message_id"] for d in snap.deliveries if d["accepted"] and d["signature_valid"]}
    alerted = {a["subject"] for a in snap.alerts}
    rows_by_message = Counter(cb.message_id for cbs in per.values() for cb in cbs)
    for cbs in per.values():
        for cb in cbs:
            state = cb.row["state"]
            if state == "done" and cb.message_id not in accepted:
                out.append(Violation("I1", f"callback {cb.message_id} marked done, never accepted by the receiver"))
            if state == "dead" and f"api_key:{cb.row['payload']['api_key_id']}" not in alerted:
                out.append(Violation("I1", f"callback {cb.message_id} dead-lettered without an alert"))
    for m, n in rows_by_message.items():
        if n > 1:
            out.append(Violation("I2", f"webhook-id {m} is used by {n} callback rows"))
    known = set(rows_by_message)
    status_ids = {
        d["message_id"]
        for d in snap.deliveries
        if d["accepted"] and d["signature_valid"] and (d["body"] or {}).get("type") == STATUS_CHANGED
    }
    for m in status_ids - known:
        out.append(Violation("I2", f"receiver accepted webhook-id {m}, which no callback row carries"))
    return out


# -- I2: courier ledgers, labels -------------------------------------------------------------------------------------


def _ledgers(snap: Snapshot) -> list[Violation]:
    out = []
    by_ref = {(c["carrier"], c["client_ref"]): cid for cid, c in snap.consignments.items() if c["client_ref"]}
    for code, orders in snap.ledgers.items():
        counts: Counter[str] = Counter()
        for order in orders:
            cid = by_ref.get((code, order["client_ref"]))
            if cid is None:
                out.append(Violation("I2", f"{code} holds order {order['ref']} ({order['client_ref']}) nobody booked"))
                continue
            counts[cid] += 1
            c = snap.consignments[cid]
            if c["tracking_code"] is None:
                out.append(Violation("I1", f"{code} has order {order['ref']} for {cid}, which we never booked"))
            elif c["tracking_code"] != order["ref"]:
                out.append(Violation("I2", f"{cid} is booked as {c['tracking_code']} but {code} holds {order['ref']}"))
        for cid, n in counts.items():
            if n > 1:
                out.append(Violation("I2", f"{code} holds {n} orders for consignment {cid}"))
        for cid, c in snap.consignments.items():
            if c["carrier"] == code and c["tracking_code"] and counts[cid] == 0:
                out.append(Violation("I1", f"{cid} is booked as {c['tracking_code']} but {code} has no such order"))
    return out


def _labels(snap: Snapshot) -> list[Violation]:
    out = []
    renders: dict[str, list[str]] = defaultdict(list)
    for row in snap.outbox:
        if row["kind"] == "render_label" and row["consignment_id"]:
            renders[row["consignment_id"]].append(row["state"])
    for cid, c in snap.consignments.items():
        if not c["tracking_code"] or c["status"] in UNBOOKED:
            continue
        states = renders.get(cid, [])
        if not states:
            out.append(Violation("I1", f"booked consignment {cid} never queued its label"))
        elif "done" in states and snap.labels.get(cid) != c["tracking_code"]:
            out.append(Violation("I2", f"{cid}: stored label is for {snap.labels.get(cid)}, not {c['tracking_code']}"))
    return out


# -- I3: order -------------------------------------------------------------------------------------------------------


def _order(snap: Snapshot, per: Mapping[str, list[_Callback]]) -> list[Violation]:
    out = []
    for cid, c in snap.consignments.items():
        evs = snap.events.get(cid, [])
        if not evs:
            out.append(Violation("I3", f"consignment {cid} has no events"))
            continue
        kind = Kind(c["kind"])
        prev = None
        for i, e in enumerate(evs, start=1):
            if e["seq"] != i:
                out.append(Violation("I3", f"{cid}: event seq {e['seq']} where {i} was due"))
            if e["previous_status"] != (prev["status"] if prev else None):
                out.append(Violation("I3", f"{cid}: event {i} follows {e['previous_status']}, the chain says {prev}"))
            if prev is not None:
                if not allowed(kind, Status(prev["status"]), Status(e["status"])):
                    out.append(Violation("I3", f"{cid}: {prev['status']} → {e['status']} is not an allowed move"))
                if _aware(e["occurred_at"]) < _aware(prev["occurred_at"]):
                    out.append(Violation("I3", f"{cid}: {e['status']} is dated before {prev['status']}"))
            prev = e
        if c["status"] != evs[-1]["status"]:
            out.append(Violation("I3", f"{cid}: status {c['status']} but the last event says {evs[-1]['status']}"))
    first_seen: dict[str, int] = {}
    for i, d in enumerate(snap.deliveries):
        if d["accepted"] and d["signature_valid"] and d["message_id"] not in first_seen:
            first_seen[d["message_id"]] = i
    for cid, cbs in per.items():
        arrived = sorted(
            (cb for cb in cbs if cb.message_id in first_seen and cb.message_id not in snap.replayed_ids),
            key=lambda cb: first_seen[cb.message_id],
        )
        ids = [cb.row["id"] for cb in arrived]
        if ids != sorted(ids):
            statuses = [cb.data["status"] for cb in arrived]
            out.append(Violation("I3", f"{cid}: callbacks arrived out of order: {statuses}"))
    return out


# -- I4: authenticity ------------------------------------------------------------------------------------------------


def _authenticity(snap: Snapshot) -> list[Violation]:
    out = []
    secrets = [s for k in snap.api_keys.values() for s in (k["webhook_secret"], k["previous_webhook_secret"]) if s]
    for d in snap.deliveries:
        if not d["signature_valid"]:
            out.append(Violation("I4", f"delivery {d['message_id']} failed the receiver's check: {d['error']}"))
            continue
        try:  # again, independently of the receiver's clock and secrets: only our keys' secrets may sign
            verify(secrets, d["headers"], d["raw_body"], now=int(d["timestamp"]), tolerance=0)
        except (SignatureError, TypeError, ValueError) as exc:
            out.append(Violation("I4", f"delivery {d['message_id']} does not verify with any API key secret: {exc}"))
    return out


# -- I5: privacy -----------------------------------------------------------------------------------------------------

_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s.\-]+(?=\d)")


def citizens_of(creates: Iterable[CreateAttempt]) -> list[Citizen]:
    seen: dict[tuple[str, str, str], Citizen] = {}
    for a in creates:
        p = a.body.get("citizen") or {}
        c = Citizen(name=p.get("name", ""), phone=p.get("phone", ""), line=(p.get("address") or {}).get("line", ""))
        seen.setdefault((c.name, c.phone, c.line), c)
    return list(seen.values())


def find_personal_data(text: str, citizens: Iterable[Citizen]) -> list[str]:
    """Which citizens' full name, phone (any spacing, +84 or 0) or street line appear in ``text``."""
    digits = _BETWEEN_DIGITS.sub("", text)
    found = []
    for c in citizens:
        if c.name and c.name in text:
            found.append(f"name {c.name!r}")
        if len(c.nsn) >= 8 and c.nsn in digits:
            found.append(f"phone {c.phone!r}")
        if c.line and c.line in text:
            found.append(f"street line {c.line!r}")
    return found


def _privacy(snap: Snapshot) -> list[Violation]:
    out = []
    citizens = citizens_of(snap.creates)
    bodies = "\n".join(d["raw_body"].decode("utf-8", "replace") for d in snap.deliveries)
    for hit in find_personal_data(bodies, citizens):
        out.append(Violation("I5", f"webhook bodies carry {hit}"))
    by_id = {a.consignment_id: a for a in snap.creates if a.consignment_id}
    for cid, html in snap.pages.items():
        attempt = by_id.get(cid)
        own = citizens_of([attempt]) if attempt else citizens
        for hit in find_personal_data(html, own):
            out.append(Violation("I5", f"tracking page of {cid} shows {hit}"))
    for name, text in snap.logs.items():
        for hit in find_personal_data(text, citizens):
            out.append(Violation("I5", f"log {name} contains {hit}"))
    return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
