"""plan questions: the planner's questions before it plans, and the person's answers, kept with the plan

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan") as table:
        table.add_column(sa.Column("questions", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("plan") as table:
        table.drop_column("questions")
