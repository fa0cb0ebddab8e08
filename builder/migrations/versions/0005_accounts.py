"""accounts: people, their sign-ins, API tokens, invitations, project roles and quotas

Every project made before accounts belongs to the local user of FORJA_AUTH=none, so a laptop's
projects stay where they were; the first admin of a server adopts them (services.accounts).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sqlmodel.sql.sqltypes.AutoString(length=32)
WHEN = sqlmodel.sql.sqltypes.UTCDateTime()
ROLE = sa.Enum("admin", "member", name="role")


def upgrade() -> None:
    op.create_table(
        "user",
        sa.Column("id", ID, nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", ROLE, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_sign_in_at", WHEN, nullable=True),
        sa.Column("disabled_at", WHEN, nullable=True),
        sa.Column("quota_tokens_day", sa.Integer(), nullable=True),
        sa.Column("quota_cost_day_usd", sa.Float(), nullable=True),
        sa.Column("quota_previews", sa.Integer(), nullable=True),
        sa.Column("quota_projects", sa.Integer(), nullable=True),
        sa.Column("quota_storage_mb", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "signin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_signin_user_id"), "signin", ["user_id"], unique=False)
    op.create_table(
        "apitoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hint", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_used_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_apitoken_user_id"), "apitoken", ["user_id"], unique=False)
    op.create_table(
        "accountlink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("role", ROLE, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "signinattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_signinattempt_address"), "signinattempt", ["address"], unique=False)
    op.create_index(op.f("ix_signinattempt_at"), "signinattempt", ["at"], unique=False)
    op.create_index(op.f("ix_signinattempt_email"), "signinattempt", ["email"], unique=False)
    project_member = op.create_table(
        "projectmember",
        sa.Column("project_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("role", sa.Enum("owner", "editor", "viewer", name="projectrole"), nullable=False),
        sa.Column("added_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("project_id", "user_id"),
    )
    op.create_index(op.f("ix_projectmember_user_id"), "projectmember", ["user_id"], unique=False)
    op.create_table(
        "serversetting",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("generation") as batch:
        batch.add_column(sa.Column("user_id", ID, nullable=True))
        batch.create_index(batch.f("ix_generation_user_id"), ["user_id"], unique=False)
        batch.create_foreign_key("fk_generation_user_id_user", "user", ["user_id"], ["id"])
    with op.batch_alter_table("previewsession") as batch:
        batch.add_column(sa.Column("user_id", ID, nullable=True))
        batch.create_index(batch.f("ix_previewsession_started_at"), ["started_at"], unique=False)
        batch.create_foreign_key("fk_previewsession_user_id_user", "user", ["user_id"], ["id"])

    # The laptop's one user, and every project so far made theirs.
    now = datetime.now(UTC)
    user = sa.table(
        "user",
        sa.column("id", ID),
        sa.column("email", sa.String()),
        sa.column("name", sa.String()),
        sa.column("password_hash", sa.String()),
        sa.column("role", ROLE),
        sa.column("created_at", WHEN),
    )
    op.bulk_insert(
        user,
        [{"id": "local", "email": "local@localhost", "name": "You", "password_hash": "", "role": "admin", "created_at": now}],
    )
    project = sa.table("project", sa.column("id", ID))
    owned = sa.select(project.c.id, sa.literal("local"), sa.literal("owner", project_member.c.role.type), sa.literal(now, WHEN))
    op.execute(project_member.insert().from_select(["project_id", "user_id", "role", "added_at"], owned))


def downgrade() -> None:
    with op.batch_alter_table("previewsession") as batch:
        batch.drop_constraint("fk_previewsession_user_id_user", type_="foreignkey")
        batch.drop_index(batch.f("ix_previewsession_started_at"))
        batch.drop_column("user_id")
    with op.batch_alter_table("generation") as batch:
        batch.drop_constraint("fk_generation_user_id_user", type_="foreignkey")
        batch.drop_index(batch.f("ix_generation_user_id"))
        batch.drop_column("user_id")
    op.drop_table("serversetting")
    op.drop_index(op.f("ix_projectmember_user_id"), table_name="projectmember")
    op.drop_table("projectmember")
    for index in ("ix_signinattempt_email", "ix_signinattempt_at", "ix_signinattempt_address"):
        op.drop_index(op.f(index), table_name="signinattempt")
    op.drop_table("signinattempt")
    op.drop_table("accountlink")
    op.drop_index(op.f("ix_apitoken_user_id"), table_name="apitoken")
    op.drop_table("apitoken")
    op.drop_index(op.f("ix_signin_user_id"), table_name="signin")
    op.drop_table("signin")
    op.drop_table("user")
    sa.Enum(name="projectrole").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="role").drop(op.get_bind(), checkfirst=True)
