"""server releases: a release records whether it is files on disk or a server app run in its own sandbox

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("release") as batch:
        batch.add_column(
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="static")
        )


def downgrade() -> None:
    with op.batch_alter_table("release") as batch:
        batch.drop_column("kind")
