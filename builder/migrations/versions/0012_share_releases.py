"""share releases: a share link may open the published app, live or one release pinned

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sharelink") as batch:
        batch.add_column(sa.Column("follows_live", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("release_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_sharelink_release_id", "release", ["release_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("sharelink") as batch:
        batch.drop_constraint("fk_sharelink_release_id", type_="foreignkey")
        batch.drop_column("release_id")
        batch.drop_column("follows_live")
