"""app user email: an app's people's checked address, the links sent to them (address check, password reset,
invitation) and whether each app takes new accounts openly or by invitation

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

ID = sqlmodel.sql.sqltypes.AutoString(length=32)
WHEN = sqlmodel.sql.sqltypes.UTCDateTime()
SHORT = sqlmodel.sql.sqltypes.AutoString(length=16)


def upgrade() -> None:
    with op.batch_alter_table("appuser") as table:
        table.add_column(sa.Column("verified_at", WHEN, nullable=True))
    op.create_table(
        "appusertoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("purpose", SHORT, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("scope", SHORT, nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["appuser.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_appusertoken_project_id"), "appusertoken", ["project_id"], unique=False)
    op.create_index(op.f("ix_appusertoken_user_id"), "appusertoken", ["user_id"], unique=False)
    op.create_table(
        "appsignup",
        sa.Column("project_id", ID, nullable=False),
        sa.Column("scope", SHORT, nullable=False),
        sa.Column("mode", SHORT, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("project_id", "scope"),
    )


def downgrade() -> None:
    op.drop_table("appsignup")
    op.drop_index(op.f("ix_appusertoken_user_id"), table_name="appusertoken")
    op.drop_index(op.f("ix_appusertoken_project_id"), table_name="appusertoken")
    op.drop_table("appusertoken")
    with op.batch_alter_table("appuser") as table:
        table.drop_column("verified_at")
