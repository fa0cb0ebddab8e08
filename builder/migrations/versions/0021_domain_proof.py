"""domain proof: an app's custom domain is routed only once a DNS TXT record proved it its owner's

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27

Domains set before this revision were routed on the owner's word alone: each becomes a claim (routed nowhere) with a
value of its own, shown in the Publish dialog, until its TXT record is seen. The downgrade forgets claims and values.
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publishedapp") as batch:
        batch.add_column(sa.Column("domain_claim", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=True))
        batch.add_column(sa.Column("domain_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("domain_claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("domain_checked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    apps = sa.table(
        "publishedapp",
        sa.column("project_id", sa.String()),
        sa.column("domain", sa.String()),
        sa.column("domain_claim", sa.String()),
        sa.column("domain_token", sa.String()),
        sa.column("domain_claimed_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    bind = op.get_bind()
    now = datetime.now(UTC)
    claimed = bind.execute(sa.select(apps.c.project_id, apps.c.domain).where(apps.c.domain.is_not(None))).all()
    for project_id, domain in claimed:
        bind.execute(
            apps.update()
            .where(apps.c.project_id == project_id)
            .values(domain=None, domain_claim=domain, domain_token=secrets.token_hex(16), domain_claimed_at=now)
        )


def downgrade() -> None:
    with op.batch_alter_table("publishedapp") as batch:
        batch.drop_column("domain_checked_at")
        batch.drop_column("domain_claimed_at")
        batch.drop_column("domain_token")
        batch.drop_column("domain_claim")
