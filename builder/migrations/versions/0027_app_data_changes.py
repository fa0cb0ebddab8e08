"""app data changes: the log of rows made, changed and deleted that the apps' change streams read, in the database so
every Forja process hears every write; an index for lists of one person's rows

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

ID = sqlmodel.sql.sqltypes.AutoString(length=32)


def upgrade() -> None:
    op.create_table(
        "appdatachange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("collection", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("row_id", ID, nullable=False),
        sa.Column("owner", ID, nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appdatachange_stream", "appdatachange", ["project_id", "scope", "collection", "id"], unique=False)
    op.create_index("ix_appdatachange_at", "appdatachange", ["at"], unique=False)
    # A list of one person's rows, newest first, found without passing every other row of the collection.
    op.create_index(
        "ix_appdatarow_owner", "appdatarow", ["project_id", "scope", "collection", "owner", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_appdatarow_owner", table_name="appdatarow")
    op.drop_index("ix_appdatachange_at", table_name="appdatachange")
    op.drop_index("ix_appdatachange_stream", table_name="appdatachange")
    op.drop_table("appdatachange")
