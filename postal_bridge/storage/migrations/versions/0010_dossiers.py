"""dossiers: the dossier system's snapshot of each dossier (procedure, appointment, citizen), for the counter

Revision ID: 0010_dossiers
Revises: 0009_citizen
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import postal_bridge.storage.types

revision = "0010_dossiers"
down_revision = "0009_citizen"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_snapshots",
        sa.Column("agency_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("procedure_name", sa.String(length=500), nullable=True),
        sa.Column("appointment_date", sa.Date(), nullable=True),
        sa.Column("citizen_name", sa.String(length=200), nullable=False),
        sa.Column("citizen_phone", sa.String(length=16), nullable=False),
        sa.Column("citizen_id_type", sa.String(length=16), nullable=True),
        sa.Column("citizen_id_last4", sa.String(length=4), nullable=True),
        sa.Column("address_line", sa.String(length=200), nullable=False),
        sa.Column("ward_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("preference", sa.String(length=16), nullable=False),
        sa.Column("received_at", postal_bridge.storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", postal_bridge.storage.types.UTCDateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("personal_data_purged_at", postal_bridge.storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_dossier_snapshots_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("agency_id", "code", name=op.f("pk_dossier_snapshots")),
    )
    with op.batch_alter_table("dossier_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_dossier_snapshots_updated_at", ["updated_at"], unique=False)
        batch_op.create_index("ix_dossier_snapshots_citizen_phone", ["citizen_phone"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossier_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_dossier_snapshots_citizen_phone")
        batch_op.drop_index("ix_dossier_snapshots_updated_at")
    op.drop_table("dossier_snapshots")
