"""git pushes: each push taken, per person, for the hourly caps; and what each project's git repository takes on disk

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gitpush",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gitpush_user_id", "gitpush", ["user_id"])
    op.create_index("ix_gitpush_at", "gitpush", ["at"])
    with op.batch_alter_table("project") as batch:
        batch.add_column(sa.Column("git_bytes", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.drop_column("git_bytes")
    op.drop_index("ix_gitpush_at", table_name="gitpush")
    op.drop_index("ix_gitpush_user_id", table_name="gitpush")
    op.drop_table("gitpush")
