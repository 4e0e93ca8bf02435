"""sms: messages to citizens and per-agency SMS settings

Revision ID: 0007_sms
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import postal_bridge.storage.types


revision = '0007_sms'
down_revision = '0006_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_messages',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=True),
    sa.Column('consignment_id', sa.String(length=36), nullable=True),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(length=400), nullable=False),
    sa.Column('parts', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', postal_bridge.storage.types.UTCDateTime(), nullable=False),
    sa.Column('scheduled_at', postal_bridge.storage.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', postal_bridge.storage.types.UTCDateTime(), nullable=True),
    sa.Column('delivered_at', postal_bridge.storage.types.UTCDateTime(), nullable=True),
    sa.Column('gateway', sa.String(length=16), nullable=True),
    sa.Column('gateway_message_id', sa.String(length=100), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_sms_messages_agency_id_agencies')),
    sa.ForeignKeyConstraint(['consignment_id'], ['consignments.id'], name=op.f('fk_sms_messages_consignment_id_consignments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_sms_messages_dedupe_key'))
    )
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.create_index('ix_sms_messages_consignment', ['consignment_id', 'created_at'], unique=False)
        batch_op.create_index('ix_sms_messages_gateway_id', ['gateway', 'gateway_message_id'], unique=False)
        batch_op.create_index('ix_sms_messages_phone_created', ['phone', 'created_at'], unique=False)

    op.create_table('sms_settings',
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('sender', sa.String(length=11), nullable=True),
    sa.Column('hotline', sa.String(length=16), nullable=True),
    sa.Column('updated_at', postal_bridge.storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_sms_settings_agency_id_agencies')),
    sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_sms_settings'))
    )


def downgrade() -> None:
    op.drop_table('sms_settings')
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_messages_phone_created')
        batch_op.drop_index('ix_sms_messages_gateway_id')
        batch_op.drop_index('ix_sms_messages_consignment')

    op.drop_table('sms_messages')
