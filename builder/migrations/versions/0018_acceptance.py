"""acceptance runs: how each acceptance check (.forja/checks/) went in a verification, with its screenshot

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acceptancerun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("verification_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("screenshot", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["verification_id"], ["verification.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_acceptancerun_verification_id", "acceptancerun", ["verification_id"])
    op.create_index("ix_acceptancerun_project_id", "acceptancerun", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_acceptancerun_project_id", table_name="acceptancerun")
    op.drop_index("ix_acceptancerun_verification_id", table_name="acceptancerun")
    op.drop_table("acceptancerun")
