"""app env: a project's own variables, encrypted, for its app's processes

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appenvvar",
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey("project.id"), primary_key=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), primary_key=True),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey("user.id"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("appenvvar")
