"""agent profile syncs

Revision ID: 0016_profile_sync
Revises: 0015_escalation
Create Date: 2026-12-03 08:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_profile_sync"
down_revision: str | Sequence[str] | None = "0015_escalation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "agent_profile_syncs",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("spoke", sa.String(length=64), nullable=False),
        sa.Column("provider_agent_id", sa.String(length=200), nullable=False),
        sa.Column("locked", sa.JSON(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=True),
        sa.Column("owned", sa.JSON(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_profile_syncs_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "spoke", name=op.f("pk_agent_profile_syncs")),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_table("agent_profile_syncs")
