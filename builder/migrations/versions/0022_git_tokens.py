"""git tokens: per-project tokens for git alone, read-only or read-write, each expiring

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

ID = sqlmodel.sql.sqltypes.AutoString(length=32)
WHEN = sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "gittoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hint", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("can_push", sa.Boolean(), nullable=False),
        sa.Column("api_token_id", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("last_used_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["api_token_id"], ["apitoken.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_gittoken_user_id"), "gittoken", ["user_id"], unique=False)
    op.create_index(op.f("ix_gittoken_project_id"), "gittoken", ["project_id"], unique=False)
    op.create_index(op.f("ix_gittoken_api_token_id"), "gittoken", ["api_token_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gittoken_api_token_id"), table_name="gittoken")
    op.drop_index(op.f("ix_gittoken_project_id"), table_name="gittoken")
    op.drop_index(op.f("ix_gittoken_user_id"), table_name="gittoken")
    op.drop_table("gittoken")
