"""reviews: each review's run and findings, owners' confirmations of findings, and a release's reason for going live
despite critical findings

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

ID = sqlmodel.sql.sqltypes.AutoString(length=32)
WHEN = sqlmodel.sql.sqltypes.UTCDateTime()
FINGERPRINT = sqlmodel.sql.sqltypes.AutoString(length=24)
DIGEST = sqlmodel.sql.sqltypes.AutoString(length=64)
REASON = sqlmodel.sql.sqltypes.AutoString(length=500)


def upgrade() -> None:
    with op.batch_alter_table("release") as table:
        table.add_column(sa.Column("override_reason", REASON, nullable=False, server_default=""))
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.Column("looked_at", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_review_project_id"), "review", ["project_id"], unique=False)
    op.create_table(
        "reviewfinding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", FINGERPRINT, nullable=False),
        sa.Column("check", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("file", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("request", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("fix", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("digest", DIGEST, nullable=False),
        sa.Column("in_project", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reviewfinding_review_id"), "reviewfinding", ["review_id"], unique=False)
    op.create_table(
        "findingconfirmation",
        sa.Column("project_id", ID, nullable=False),
        sa.Column("fingerprint", FINGERPRINT, nullable=False),
        sa.Column("digest", DIGEST, nullable=False),
        sa.Column("reason", REASON, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("project_id", "fingerprint"),
    )


def downgrade() -> None:
    op.drop_table("findingconfirmation")
    op.drop_index(op.f("ix_reviewfinding_review_id"), table_name="reviewfinding")
    op.drop_table("reviewfinding")
    op.drop_index(op.f("ix_review_project_id"), table_name="review")
    op.drop_table("review")
    with op.batch_alter_table("release") as table:
        table.drop_column("override_reason")
