"""agent questions: an agent run's questions for the person, and their answers, kept with its generation record

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generation") as table:
        table.add_column(sa.Column("questions", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("generation") as table:
        table.drop_column("questions")
