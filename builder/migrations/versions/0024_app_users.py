"""app users: the people with an account on an app Forja serves (per project and scope), and their sessions

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

ID = sqlmodel.sql.sqltypes.AutoString(length=32)
WHEN = sqlmodel.sql.sqltypes.UTCDateTime()
SHORT = sqlmodel.sql.sqltypes.AutoString(length=16)


def upgrade() -> None:
    op.create_table(
        "appuser",
        sa.Column("id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("scope", SHORT, nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", SHORT, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("disabled_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "scope", "email"),
    )
    op.create_index(op.f("ix_appuser_project_id"), "appuser", ["project_id"], unique=False)
    op.create_table(
        "appsession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("scope", SHORT, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["appuser.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_appsession_user_id"), "appsession", ["user_id"], unique=False)
    op.create_index(op.f("ix_appsession_project_id"), "appsession", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_appsession_project_id"), table_name="appsession")
    op.drop_index(op.f("ix_appsession_user_id"), table_name="appsession")
    op.drop_table("appsession")
    op.drop_index(op.f("ix_appuser_project_id"), table_name="appuser")
    op.drop_table("appuser")
