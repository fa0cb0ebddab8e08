"""publish: apps at addresses of their own and their releases

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publishedapp",
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey("project.id"), primary_key=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False, unique=True),
        sa.Column("live_release_id", sa.Integer(), nullable=True),
        sa.Column("unpublished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey("project.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("version.id"), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("framework", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("spa", sa.Boolean(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("build_s", sa.Float(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("log", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("project_id", "number"),
    )
    op.create_index("ix_release_project_id", "release", ["project_id"])
    op.create_index("ix_release_created_at", "release", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_release_created_at", "release")
    op.drop_index("ix_release_project_id", "release")
    op.drop_table("release")
    op.drop_table("publishedapp")
