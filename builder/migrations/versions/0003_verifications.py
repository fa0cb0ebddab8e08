"""verifications: what Forja saw when it ran a version

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("problems", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("screenshot", sa.LargeBinary(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_verification_project_id"), "verification", ["project_id"], unique=False)
    op.create_index(op.f("ix_verification_created_at"), "verification", ["created_at"], unique=False)
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="prompt"))
    # The per-day budget sums the cost of generations since midnight.
    op.create_index(op.f("ix_generation_created_at"), "generation", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_generation_created_at"), table_name="generation")
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.drop_column("kind")
    op.drop_index(op.f("ix_verification_created_at"), table_name="verification")
    op.drop_index(op.f("ix_verification_project_id"), table_name="verification")
    op.drop_table("verification")
