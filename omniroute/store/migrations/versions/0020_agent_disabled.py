"""an agent's disabled flag

Revision ID: 0020_agent_disabled
Revises: 0019_engine_changes
Create Date: 2026-12-03 13:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_agent_disabled"
down_revision: str | Sequence[str] | None = "0019_engine_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.add_column(
        "agents",
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_column("agents", "disabled")
