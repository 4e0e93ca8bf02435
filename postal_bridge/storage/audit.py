"""Storage for the append-only audit log (who read or changed what, when) and for the citizen's personal data in the
records: finding it (a data-subject request) and erasing it when retention ends (Circular 17/2017 Art 14.3,
Law 91/2025/QH15).

Erasure keeps the record (codes, ward and province, statuses, dates, money) and removes the name, the phone, the street
line, the legacy address text, the coordinates and the citizen's ID digits, plus the copies of them kept elsewhere: the
stored label PDF, the raw courier payloads, the stored idempotent response body, the names and ID digits of
whoever received or refused the result at the door (delivery proofs), the street line of an address change the
citizen asked for on the tracking page, and the postman's phone kept for the delivery day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Connection, and_, delete, exists, insert, or_, select, update

from postal_bridge.domain.reports import AuditEntry, PurgeCandidate, local_date
from postal_bridge.domain.status import TERMINAL
from postal_bridge.storage import tables as t

_L = t.audit_log
_C = t.consignments
_CHUNK = 500


class SqlAuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------------------------------------ audit log

    def record(self, entry: AuditEntry) -> int:
        res = self.conn.execute(
            insert(_L).values(
                at=entry.at,
                actor=entry.actor[:200],
                action=entry.action[:64],
                subject=entry.subject[:100],
                details=entry.details,
            )
        )
        return int(res.inserted_primary_key[0])

    def record_many(self, entries: Sequence[AuditEntry]) -> None:
        """Several entries in one statement (a clerk's batch of scans)."""
        if entries:
            self.conn.execute(
                insert(_L),
                [
                    {
                        "at": e.at,
                        "actor": e.actor[:200],
                        "action": e.action[:64],
                        "subject": e.subject[:100],
                        "details": e.details,
                    }
                    for e in entries
                ],
            )

    def entries(self, *, subject: str | None = None, action: str | None = None) -> list[AuditEntry]:
        q = select(_L).order_by(_L.c.at, _L.c.id)
        if subject is not None:
            q = q.where(_L.c.subject == subject)
        if action is not None:
            q = q.where(_L.c.action == action)
        return [
            AuditEntry(
                id=r["id"],
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                subject=r["subject"],
                details=dict(r["details"] or {}),
            )
            for r in self.conn.execute(q).mappings()
        ]

    # ------------------------------------------------------------------------------------------- personal data

    def consignment_ids_by_phone(self, e164: str) -> list[str]:
        q = select(_C.c.id).where(_C.c.citizen_phone == e164).order_by(_C.c.created_at, _C.c.id)
        return list(self.conn.execute(q).scalars())

    def purge_candidates(self, *, accepted_before: date, created_before: datetime) -> list[PurgeCandidate]:
        """Terminal, not yet purged, accepted (J) before ``accepted_before`` — or, never accepted by the post,
        registered before ``created_before`` — and with no incident or complaint still open."""
        open_incident = exists().where(t.incidents.c.consignment_id == _C.c.id, t.incidents.c.resolved_at.is_(None))
        open_complaint = exists().where(t.complaints.c.consignment_id == _C.c.id, t.complaints.c.resolved_at.is_(None))
        q = (
            select(_C.c.id, t.agencies.c.code, _C.c.dossier_code, _C.c.status, _C.c.j_date, _C.c.created_at)
            .join(t.agencies, t.agencies.c.id == _C.c.agency_id)
            .where(
                _C.c.status.in_([s.value for s in TERMINAL]),
                _C.c.personal_data_purged_at.is_(None),
                or_(
                    and_(_C.c.j_date.is_not(None), _C.c.j_date < accepted_before),
                    and_(_C.c.j_date.is_(None), _C.c.created_at < created_before),
                ),
                ~open_incident,
                ~open_complaint,
            )
            .order_by(_C.c.created_at, _C.c.id)
        )
        return [
            PurgeCandidate(
                id=r["id"],
                agency_code=r["code"],
                dossier_code=r["dossier_code"],
                status=r["status"],
                accepted_on=r["j_date"] or local_date(r["created_at"]),
            )
            for r in self.conn.execute(q).mappings()
        ]

    def erase_personal_data(self, consignment_ids: Sequence[str], *, at: datetime) -> int:
        """Erase the personal data of these consignments (those not purged yet); returns how many were erased."""
        erased = 0
        ids = list(dict.fromkeys(consignment_ids))
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            res = self.conn.execute(
                update(_C)
                .where(_C.c.id.in_(chunk), _C.c.personal_data_purged_at.is_(None))
                .values(
                    citizen_name="",
                    citizen_phone="",
                    address_line="",
                    address_legacy_text=None,
                    geo_lat=None,
                    geo_lon=None,
                    geo_approximate=None,
                    citizen_id_type=None,
                    citizen_id_last4=None,
                    personal_data_purged_at=at,
                    version=_C.c.version + 1,  # a concurrent writer that loaded it earlier must not write it back
                )
            )
            erased += res.rowcount
            self.conn.execute(delete(t.labels).where(t.labels.c.consignment_id.in_(chunk)))
            self.conn.execute(  # who received or refused the result, and their IDs' last digits
                update(t.delivery_proofs)
                .where(t.delivery_proofs.c.consignment_id.in_(chunk))
                .values(receiver_name=None, id_last4=None, refuser_name=None, refuser_id_last4=None)
            )
            self.conn.execute(
                update(t.carrier_events).where(t.carrier_events.c.consignment_id.in_(chunk)).values(raw=None)
            )
            self.conn.execute(delete(t.idempotency_keys).where(t.idempotency_keys.c.resource_id.in_(chunk)))
            self.conn.execute(  # the texts carry no personal data; the number they went to does
                update(t.sms_messages).where(t.sms_messages.c.consignment_id.in_(chunk)).values(phone="")
            )
            self.conn.execute(  # a new street line the citizen asked for; the postman's phone of the delivery day
                update(t.citizen_requests)
                .where(t.citizen_requests.c.consignment_id.in_(chunk), t.citizen_requests.c.kind == "address")
                .values(details={"erased": True})
            )
            self.conn.execute(delete(t.postman_contacts).where(t.postman_contacts.c.consignment_id.in_(chunk)))
        return erased
