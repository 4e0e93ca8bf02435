"""accounts: people who sign in (users, sessions); idempotency keys scoped by principal, not only API keys

Revision ID: 0006_accounts
Revises: 0005
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import postal_bridge.storage.types

revision = "0006_accounts"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A signed-in person's form submissions are idempotent too, so the key's owner is a principal ("user:<id>" or an
    # API key's id) rather than a foreign key to api_keys.
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("fk_idempotency_keys_api_key_id_api_keys", type_="foreignkey")
        batch.alter_column(
            "api_key_id",
            new_column_name="principal_id",
            existing_type=sa.String(length=36),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("full_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("agency_id", sa.String(length=36), nullable=True),
        sa.Column("post_office_code", sa.String(length=32), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", postal_bridge.storage.types.UTCDateTime(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", postal_bridge.storage.types.UTCDateTime(), nullable=True),
        sa.Column("last_login_at", postal_bridge.storage.types.UTCDateTime(), nullable=True),
        sa.Column("disabled_at", postal_bridge.storage.types.UTCDateTime(), nullable=True),
        sa.Column("printer_profile", sa.String(length=16), server_default="pdf", nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_users_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["post_office_code"], ["post_offices.code"], name=op.f("fk_users_post_office_code_post_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_agency_id"), "users", ["agency_id"], unique=False)
    op.create_index(op.f("ix_users_post_office_code"), "users", ["post_office_code"], unique=False)
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", postal_bridge.storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", postal_bridge.storage.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", postal_bridge.storage.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", postal_bridge.storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_index(op.f("ix_users_post_office_code"), table_name="users")
    op.drop_index(op.f("ix_users_agency_id"), table_name="users")
    op.drop_table("users")
    op.execute("DELETE FROM idempotency_keys WHERE principal_id NOT IN (SELECT id FROM api_keys)")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column(
            "principal_id",
            new_column_name="api_key_id",
            existing_type=sa.String(length=64),
            type_=sa.String(length=36),
            existing_nullable=False,
        )
        batch.create_foreign_key("fk_idempotency_keys_api_key_id_api_keys", "api_keys", ["api_key_id"], ["id"])
