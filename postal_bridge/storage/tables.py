"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; repositories read and write it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from postal_bridge.storage.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

provinces = Table(
    "provinces",
    metadata,
    Column("code", String(2), primary_key=True),
    Column("name", String(100), nullable=False),
)

wards = Table(
    "wards",
    metadata,
    Column("code", String(5), primary_key=True),
    Column("province_code", String(2), ForeignKey("provinces.code"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("ward_type", String(10), nullable=False),
    Column("lat", Float),
    Column("lon", Float),
)

agencies = Table(
    "agencies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(16), nullable=False),
    Column("address_line", String(200), nullable=False),
    Column("ward_code", String(5), nullable=False),
    Column("province_code", String(2), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("webhook_secret", String(100), nullable=False),
    Column("callback_url", String(500)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("scope", String(16), nullable=False, server_default="agency"),  # agency | admin
    Column("printer_profile", String(16), nullable=False, server_default="pdf"),  # pdf | zpl203 | zpl300
    Column("previous_webhook_secret", String(100)),  # still signed with during the rotation overlap
    Column("secret_rotated_at", UTCDateTime()),
    Column("callback_disabled_at", UTCDateTime()),  # set when the receiver answered 410 Gone
)

consignments = Table(
    "consignments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False),
    Column("api_key_id", String(36), ForeignKey("api_keys.id")),
    Column("kind", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("carrier", String(32), nullable=False),
    Column("service", String(32), nullable=False),
    Column("dossier_code", String(64)),
    Column("procedure_code", String(64)),
    Column("procedure_name", String(500)),
    Column("appointment_date", Date),
    Column("citizen_name", String(200), nullable=False),
    Column("citizen_phone", String(16), nullable=False),
    Column("address_line", String(200), nullable=False),
    Column("ward_code", String(5), nullable=False),
    Column("province_code", String(2), nullable=False),
    Column("address_scheme", String(8), nullable=False),
    Column("weight_g", Integer, nullable=False),
    Column("contents", String(200), nullable=False),
    Column("cod_vnd", BigInteger, nullable=False),
    Column("options", JSON, nullable=False),
    Column("tracking_token", String(32), nullable=False, unique=True),
    Column("tracking_code", String(64)),
    Column("carrier_ref", String(128)),
    Column("booking_attempt", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_polled_at", UTCDateTime()),
    Column("client_ref", String(64)),
    Column("next_poll_at", UTCDateTime()),
    Column("poll_failures", Integer, nullable=False, server_default="0"),
    Column("documents", JSON),
    Column("postage_vnd", BigInteger),
    # Address provenance and confirmation (a split legacy commune is a suggestion a person confirms).
    Column("address_status", String(16), nullable=False, server_default="exact"),  # exact | suggested | confirmed
    Column("address_legacy_text", String(500)),
    Column("address_confirmed_by", String(200)),
    Column("address_confirmed_at", UTCDateTime()),
    Column("geo_lat", Float),
    Column("geo_lon", Float),
    Column("geo_approximate", Boolean),
    # Route, deadline, fee and the delivering post office, computed at creation.
    Column("route_class", String(32)),
    Column("j_date", Date),
    Column("due_date", Date),
    Column("fee_vnd", BigInteger),
    Column("payer", String(16)),
    Column("post_office_code", String(32)),
    # The dossier side (one-stop system): result readiness, the agency's outcome for pickups, personal-data purge.
    Column("result_ready_at", UTCDateTime()),
    Column("agency_outcome", String(32)),  # accepted | supplement_required | rejected
    Column("agency_outcome_at", UTCDateTime()),
    Column("personal_data_purged_at", UTCDateTime()),
    # The citizen's ID as the dossier system knows it: type and last 4 characters only (checked at delivery).
    Column("citizen_id_type", String(16)),  # cccd | cmnd | passport
    Column("citizen_id_last4", String(4)),
    Index("ix_consignments_agency_created", "agency_id", "created_at"),
    Index("ix_consignments_client_ref", "carrier", "client_ref"),
    Index("ix_consignments_next_poll", "next_poll_at"),
    Index("ix_consignments_agency_dossier", "agency_id", "dossier_code"),
    Index("ix_consignments_status", "status"),
    Index("ix_consignments_tracking_code", "tracking_code"),
)

consignment_events = Table(
    "consignment_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("previous_status", String(32)),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("source", String(32), nullable=False),
    Column("actor", String(200)),
    Column("location", String(200)),
    Column("description", String(500)),
    UniqueConstraint("consignment_id", "seq"),
)

carrier_events = Table(
    "carrier_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("carrier", String(32), nullable=False),
    Column("dedup_key", String(300), nullable=False),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), index=True),  # NULL: not matched yet
    Column("carrier_ref", String(128), nullable=False, server_default=""),
    Column("raw_code", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("provisional", Boolean, nullable=False),
    Column("applied", Boolean, nullable=False, default=False),
    Column("processed", Boolean, nullable=False, server_default="0"),
    Column("source", String(16), nullable=False, server_default="poll"),
    Column("raw_text", String(500), nullable=False, server_default=""),
    Column("location", String(200)),
    Column("reason", String(64)),
    Column("raw", JSON),
    UniqueConstraint("carrier", "dedup_key"),
    Index("ix_carrier_events_ref", "carrier", "carrier_ref"),
)

carrier_settings = Table(
    "carrier_settings",
    metadata,
    Column("agency_id", String(36), ForeignKey("agencies.id"), primary_key=True),
    Column("carrier", String(32), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

carrier_cursors = Table(
    "carrier_cursors",
    metadata,
    Column("agency_id", String(36), ForeignKey("agencies.id"), primary_key=True),
    Column("carrier", String(32), primary_key=True),
    Column("cursor", String(200)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

carrier_address_map = Table(
    "carrier_address_map",
    metadata,
    Column("carrier", String(32), primary_key=True),
    Column("account", String(100), primary_key=True),
    Column("ward_code", String(5), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("refreshed_at", UTCDateTime(), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("consignment_id", String(36), ForeignKey("consignments.id")),
    Column("ordering_key", String(100)),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime()),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime()),
    Index("ix_outbox_state_next", "state", "next_attempt_at"),
    Index("ix_outbox_group", "ordering_key", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # Keys are scoped by who sent them: an API key's id, or "user:<id>" for a signed-in person (no foreign key).
    Column("principal_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("response_status", Integer),
    Column("response_body", Text),
    Column("resource_id", String(36)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime()),
)

labels = Table(
    "labels",
    metadata,
    Column("consignment_id", String(36), ForeignKey("consignments.id"), primary_key=True),
    Column("tracking_code", String(64), nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

handovers = Table(
    "handovers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("direction", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("place", String(300), nullable=False, server_default=""),
    # Set when the record comes from a clerk's handover session, confirmed by both sides.
    Column("post_signatory", String(200)),
    Column("agency_signatory", String(200)),
    Column("agency_confirmed_by", String(200)),
    Column("missing_ids", JSON),  # expected consignments that were not there
    Column("note", String(500), nullable=False, server_default=""),
    Column("session_id", String(40)),
)

handover_items = Table(
    "handover_items",
    metadata,
    Column("handover_id", String(40), ForeignKey("handovers.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False, index=True),
)

label_prints = Table(
    "label_prints",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False, index=True),
    Column("document", String(16), nullable=False),
    Column("printed_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reprint", Boolean, nullable=False),
)

legacy_wards = Table(
    "legacy_wards",
    metadata,
    Column("code", String(8), primary_key=True),  # scheme "legacy": pre-2025 NSO ward code (D+district if none)
    Column("name", String(100), nullable=False),
    Column("district_code", String(3), nullable=False),
    Column("district_name", String(100), nullable=False),
    Column("province_code", String(2), nullable=False),
    Column("province_name", String(100), nullable=False),
)

legacy_ward_map = Table(
    "legacy_ward_map",
    metadata,
    Column("legacy_ward_code", String(8), primary_key=True),
    Column("new_ward_code", String(5), ForeignKey("wards.code"), primary_key=True),
    Column("relation", String(16), nullable=False),  # whole | split
)

geocode_cache = Table(
    "geocode_cache",
    metadata,
    Column("query_key", String(64), primary_key=True),
    Column("query", String(500), nullable=False),
    Column("lat", Float),
    Column("lon", Float),
    Column("source", String(32), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

post_offices = Table(
    "post_offices",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("address_line", String(300), nullable=False),
    Column("ward_code", String(5), nullable=False),
    Column("province_code", String(2), nullable=False, index=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("phone", String(16), nullable=False, server_default=""),
)

post_office_wards = Table(
    "post_office_wards",
    metadata,
    Column("post_office_code", String(32), ForeignKey("post_offices.code"), primary_key=True),
    Column("ward_code", String(5), primary_key=True),
)

dossier_events = Table(
    "dossier_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Index("ix_dossier_events_dossier", "agency_id", "dossier_code"),
)

breaches = Table(
    "breaches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("due_at", UTCDateTime()),
    Column("detected_at", UTCDateTime(), nullable=False),
    Column("details", JSON, nullable=False),
    Column("resolved_at", UTCDateTime()),
    UniqueConstraint("consignment_id", "kind"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # lost | damaged | tampered
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("record_no", String(64)),  # the biên bản of the incident
    Column("description", Text, nullable=False),
    Column("fault_party", String(16)),
    Column("resolved_at", UTCDateTime()),
    Column("resolution", Text),
    Column("compensation_vnd", BigInteger),
)

complaints = Table(
    "complaints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False, index=True),
    Column("complainant", String(16), nullable=False),  # citizen | agency
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("description", Text, nullable=False),
    Column("due_date", Date, nullable=False),  # 5 (within a province) or 7 (between provinces) working days
    Column("resolved_at", UTCDateTime()),
    Column("outcome", Text),
    Column("fault_party", String(16)),
    Column("compensation_vnd", BigInteger),
    Column("liability_decided_at", UTCDateTime()),
    Column("payment_due_date", Date),  # 30 days after the liability decision (Decree 47/2011 Art 26)
    Column("paid_at", UTCDateTime()),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_audit_log_subject", "subject"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("message", Text, nullable=False),
    Column("acknowledged_at", UTCDateTime()),
)

# ------------------------------------------------------------------------------------------ postal clerks

handover_sessions = Table(
    "handover_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("post_office_code", String(32), nullable=False, index=True),
    Column("user_id", String(36), nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # open | confirmed | cancelled
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("handover_id", String(40), ForeignKey("handovers.id")),
    # "user|agency|direction" while open, NULL once closed: one open session per clerk, agency and direction.
    Column("open_slot", String(120), unique=True),
    Index("ix_handover_sessions_user_state", "user_id", "state"),
)

handover_session_items = Table(
    "handover_session_items",
    metadata,
    Column("session_id", String(40), ForeignKey("handover_sessions.id"), primary_key=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("expected", Boolean, nullable=False),
    Column("scanned_at", UTCDateTime()),
    Column("excluded_reason", String(300)),
)

scans = Table(
    "scans",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", String(36), nullable=False),
    Column("client_event_id", String(36), nullable=False),
    Column("post_office_code", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("session_id", String(40)),
    Column("code", String(64), nullable=False),
    Column("consignment_id", String(36), ForeignKey("consignments.id")),
    Column("scanned_at", UTCDateTime()),  # the device's original time (NULL when the scan carried none)
    Column("scanned_on", Date),  # its local day, for "already scanned today"
    Column("received_at", UTCDateTime(), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("message", String(500), nullable=False),
    Column("status_before", String(32)),
    Column("status_after", String(32)),
    Column("applied", Boolean, nullable=False),
    UniqueConstraint("user_id", "client_event_id"),
    Index("ix_scans_consignment_day", "consignment_id", "scanned_on"),
    Index("ix_scans_office_day", "post_office_code", "scanned_on"),
)

delivery_proofs = Table(
    "delivery_proofs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", String(36), nullable=False),
    Column("client_event_id", String(36), nullable=False),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False, index=True),
    Column("outcome", String(24), nullable=False),  # delivered | failed | returned_to_agency
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("post_office_code", String(32), nullable=False),
    Column("status_before", String(32), nullable=False),
    Column("status_after", String(32), nullable=False),
    # Delivered: who received (citizen | authorised), the ID type and its last 4 characters only, the check result,
    # and for an authorised person their name and the written authorisation's reference.
    Column("receiver", String(16)),
    Column("receiver_name", String(200)),
    Column("id_type", String(16)),
    Column("id_last4", String(4)),
    Column("id_check", String(20)),
    Column("authorisation_ref", String(100)),
    # Failed or returned: the reason, the attempt number, and for a refusal who refused (TTLT 18/2015 Art 3).
    Column("reason", String(40)),
    Column("note", String(500), nullable=False, server_default=""),
    Column("attempt", Integer),
    Column("refuser_name", String(200)),
    Column("refuser_id_type", String(16)),
    Column("refuser_id_last4", String(4)),
    UniqueConstraint("user_id", "client_event_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False, server_default=""),
    Column("role", String(16), nullable=False),  # counter | clerk | admin
    Column("agency_id", String(36), ForeignKey("agencies.id"), index=True),  # counter, admin
    Column("post_office_code", String(32), ForeignKey("post_offices.code"), index=True),  # clerk
    Column("password_hash", String(200), nullable=False),  # argon2id, encoded with its parameters
    Column("created_at", UTCDateTime(), nullable=False),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime()),
    Column("last_login_at", UTCDateTime()),
    Column("disabled_at", UTCDateTime()),
    Column("printer_profile", String(16), nullable=False, server_default="pdf"),  # pdf | zpl203 | zpl300
    Column("phone", String(16)),  # E.164; a clerk's number, given to the citizen on the day of delivery
)

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's random token
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

sms_messages = Table(
    "sms_messages",
    metadata,
    Column("id", String(40), primary_key=True),  # also the request id the gateway deduplicates on
    Column("agency_id", String(36), ForeignKey("agencies.id")),
    Column("consignment_id", String(36), ForeignKey("consignments.id")),
    Column("event", String(32), nullable=False),
    Column("phone", String(16), nullable=False),  # E.164; "" once personal data was purged
    Column("text", String(400), nullable=False),
    Column("parts", Integer, nullable=False),
    Column("dedupe_key", String(200), unique=True),  # one message per (consignment, event, event seq)
    Column("status", String(16), nullable=False),  # queued | sent | delivered | failed | skipped
    Column("created_at", UTCDateTime(), nullable=False),
    Column("scheduled_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Column("delivered_at", UTCDateTime()),
    Column("gateway", String(16)),
    Column("gateway_message_id", String(100)),
    Column("error", String(500)),
    Index("ix_sms_messages_consignment", "consignment_id", "created_at"),
    Index("ix_sms_messages_phone_created", "phone", "created_at"),
    Index("ix_sms_messages_gateway_id", "gateway", "gateway_message_id"),
)

sms_settings = Table(
    "sms_settings",
    metadata,
    Column("agency_id", String(36), ForeignKey("agencies.id"), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("sender", String(11)),  # the short name in front of each message
    Column("hotline", String(16)),  # E.164
    Column("updated_at", UTCDateTime(), nullable=False),
)

# ------------------------------------------------------------------------------------------ citizens (tracking page)

otp_challenges = Table(
    "otp_challenges",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False),
    Column("action", String(16), nullable=False),  # reschedule | hold | address
    Column("salt", String(32), nullable=False),
    Column("code_hash", String(64), nullable=False),  # sha256(salt:code); the code itself is never stored
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("used_at", UTCDateTime()),
    Column("closed_at", UTCDateTime()),  # replaced by a newer code for the same action
    Index("ix_otp_challenges_consignment_action", "consignment_id", "action", "created_at"),
)

citizen_requests = Table(
    "citizen_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("consignment_id", String(36), ForeignKey("consignments.id"), nullable=False),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # reschedule | hold | address
    Column("status", String(16), nullable=False),  # open | handled | superseded
    Column("details", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),  # citizen:<token digest prefix>
    Column("handled_at", UTCDateTime()),
    Column("handled_by", String(200)),
    Column("note", String(500), nullable=False, server_default=""),
    Index("ix_citizen_requests_agency_status", "agency_id", "status", "created_at"),
    Index("ix_citizen_requests_consignment", "consignment_id", "created_at"),
)

postman_contacts = Table(
    "postman_contacts",
    metadata,
    Column("consignment_id", String(36), ForeignKey("consignments.id"), primary_key=True),
    Column("phone", String(16), nullable=False),  # E.164
    Column("at", UTCDateTime(), nullable=False),  # the out-for-delivery event's time
    Column("source", String(32), nullable=False),  # scan | the courier's code
)

# ------------------------------------------------------------------------------------------ counter staff

# What the one-stop dossier system sent about a dossier (PUT /api/v1/dossiers/<code>), so the counter never retypes
# the citizen. Personal data: the ID number is never stored whole (type and last 4 only); the purge erases the rest.
dossier_snapshots = Table(
    "dossier_snapshots",
    metadata,
    Column("agency_id", String(36), ForeignKey("agencies.id"), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("procedure_code", String(64)),
    Column("procedure_name", String(500)),
    Column("appointment_date", Date),
    Column("citizen_name", String(200), nullable=False),
    Column("citizen_phone", String(16), nullable=False),  # E.164; "" once purged
    Column("citizen_id_type", String(16)),  # cccd | cmnd | passport
    Column("citizen_id_last4", String(4)),
    Column("address_line", String(200), nullable=False),
    Column("ward_code", String(5), nullable=False),
    Column("province_code", String(2), nullable=False),
    Column("preference", String(16), nullable=False),  # return | pickup | both | counter
    Column("received_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("personal_data_purged_at", UTCDateTime()),
    Index("ix_dossier_snapshots_updated_at", "updated_at"),
    Index("ix_dossier_snapshots_citizen_phone", "citizen_phone"),
)
