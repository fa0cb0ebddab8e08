"""sign-in throttle: failed checks per browser, sign-ups per address, trusted browsers, the previous sign-in

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sqlmodel.sql.sqltypes.AutoString(length=32)
WHEN = sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    with op.batch_alter_table("signinattempt") as batch:
        batch.add_column(
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="failed")
        )
        batch.add_column(sa.Column("device", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("previous_sign_in_at", WHEN, nullable=True))
    op.create_table(
        "trusteddevice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_used_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", "user_id"),
    )
    op.create_index(op.f("ix_trusteddevice_token_hash"), "trusteddevice", ["token_hash"], unique=False)
    op.create_index(op.f("ix_trusteddevice_user_id"), "trusteddevice", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_trusteddevice_user_id"), table_name="trusteddevice")
    op.drop_index(op.f("ix_trusteddevice_token_hash"), table_name="trusteddevice")
    op.drop_table("trusteddevice")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("previous_sign_in_at")
    with op.batch_alter_table("signinattempt") as batch:
        batch.drop_column("device")
        batch.drop_column("kind")
