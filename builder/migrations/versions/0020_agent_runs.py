"""agent runs: each run's steps, a change waiting for approval, and the project's Approve changes setting

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generation") as batch:
        batch.add_column(sa.Column("steps", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("pending", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""))
    with op.batch_alter_table("project") as batch:
        batch.add_column(sa.Column("approve_changes", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.drop_column("approve_changes")
    with op.batch_alter_table("generation") as batch:
        batch.drop_column("pending")
        batch.drop_column("steps")
