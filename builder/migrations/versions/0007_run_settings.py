"""run settings: a person's own start command and app folder for a project's previews

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.add_column(
            sa.Column("run_command", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("run_folder", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.drop_column("run_folder")
        batch.drop_column("run_command")
