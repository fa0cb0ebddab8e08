"""publish quotas: each person's own limits on published apps and build minutes a day

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("quota_published_apps", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quota_build_minutes_day", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("quota_build_minutes_day")
        batch.drop_column("quota_published_apps")
