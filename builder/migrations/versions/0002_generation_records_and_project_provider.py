"""generation records and project provider

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults so existing rows get values.
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_known", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""))

    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("model")
        batch_op.drop_column("provider")

    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.drop_column("summary")
        batch_op.drop_column("cost_known")
