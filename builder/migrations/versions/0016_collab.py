"""co-editing: a version's authors, and the shared documents' updates and authors until they are saved

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "versionauthor",
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("version.id"), primary_key=True),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), primary_key=True),
    )
    op.create_table(
        "collabupdate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey("project.id"), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_collabupdate_project_id", "collabupdate", ["project_id"])
    op.create_table(
        "collabauthor",
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey("project.id"), primary_key=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=1024), primary_key=True),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("collabauthor")
    op.drop_index("ix_collabupdate_project_id", table_name="collabupdate")
    op.drop_table("collabupdate")
    op.drop_table("versionauthor")
