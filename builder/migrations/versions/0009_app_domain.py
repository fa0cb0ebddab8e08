"""app domain: a published app's custom domain

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publishedapp") as batch:
        batch.add_column(sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=True))
        batch.create_unique_constraint("uq_publishedapp_domain", ["domain"])


def downgrade() -> None:
    with op.batch_alter_table("publishedapp") as batch:
        batch.drop_constraint("uq_publishedapp_domain", type_="unique")
        batch.drop_column("domain")
