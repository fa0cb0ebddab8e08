"""app data: each app's own PostgreSQL database and role, its password encrypted

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appdatabase",
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey("project.id"), primary_key=True),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), primary_key=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("password", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("appdatabase")
