"""app rows: the data of an app Forja serves (per project, scope and collection), each row stamped with its maker

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

ID = sqlmodel.sql.sqltypes.AutoString(length=32)
WHEN = sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "appdatarow",
        sa.Column("id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("collection", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("owner", ID, nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appdatarow_list", "appdatarow", ["project_id", "scope", "collection", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_appdatarow_list", table_name="appdatarow")
    op.drop_table("appdatarow")
