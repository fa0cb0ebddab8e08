"""project engine: which engine works on a project, Forja's own or an external coding agent (OpenCode)

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.add_column(sa.Column("engine", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default="forja"))


def downgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.drop_column("engine")
