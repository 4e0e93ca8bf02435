"""citizens: one-time codes, citizen requests, postman contacts, clerk phones

Revision ID: 0009_citizen
Revises: 0008_clerks
Create Date: 2026-12-02 06:17:51.303047
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import postal_bridge.storage.types


revision = "0009_citizen"
down_revision = "0008_clerks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('citizen_requests',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('consignment_id', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', postal_bridge.storage.types.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('handled_at', postal_bridge.storage.types.UTCDateTime(), nullable=True),
    sa.Column('handled_by', sa.String(length=200), nullable=True),
    sa.Column('note', sa.String(length=500), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_citizen_requests_agency_id_agencies')),
    sa.ForeignKeyConstraint(['consignment_id'], ['consignments.id'], name=op.f('fk_citizen_requests_consignment_id_consignments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_requests'))
    )
    with op.batch_alter_table('citizen_requests', schema=None) as batch_op:
        batch_op.create_index('ix_citizen_requests_agency_status', ['agency_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_citizen_requests_consignment', ['consignment_id', 'created_at'], unique=False)

    op.create_table('otp_challenges',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('consignment_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', postal_bridge.storage.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', postal_bridge.storage.types.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('used_at', postal_bridge.storage.types.UTCDateTime(), nullable=True),
    sa.Column('closed_at', postal_bridge.storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['consignment_id'], ['consignments.id'], name=op.f('fk_otp_challenges_consignment_id_consignments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_otp_challenges'))
    )
    with op.batch_alter_table('otp_challenges', schema=None) as batch_op:
        batch_op.create_index('ix_otp_challenges_consignment_action', ['consignment_id', 'action', 'created_at'], unique=False)

    op.create_table('postman_contacts',
    sa.Column('consignment_id', sa.String(length=36), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('at', postal_bridge.storage.types.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['consignment_id'], ['consignments.id'], name=op.f('fk_postman_contacts_consignment_id_consignments')),
    sa.PrimaryKeyConstraint('consignment_id', name=op.f('pk_postman_contacts'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=16), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')

    op.drop_table('postman_contacts')
    with op.batch_alter_table('otp_challenges', schema=None) as batch_op:
        batch_op.drop_index('ix_otp_challenges_consignment_action')

    op.drop_table('otp_challenges')
    with op.batch_alter_table('citizen_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_citizen_requests_consignment')
        batch_op.drop_index('ix_citizen_requests_agency_status')

    op.drop_table('citizen_requests')
