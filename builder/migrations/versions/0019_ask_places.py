"""generation places: the places in the files an Ask mode answer relies on

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generation") as batch:
        batch.add_column(sa.Column("places", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("generation") as batch:
        batch.drop_column("places")
