"""mcp stdio: a team's MCP server may be a command line run in a sandbox of its own, with encrypted environment values

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mcpserver") as batch:
        batch.add_column(
            sa.Column("command", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("env", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("mcpserver") as batch:
        batch.drop_column("env")
        batch.drop_column("command")
