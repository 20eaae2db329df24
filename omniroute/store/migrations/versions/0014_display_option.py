"""offers.display_option: how auto-accepted work is shown (card only, or card and tab)

Revision ID: 0014_display_option
Revises: 0013_cluster
Create Date: 2026-12-03 08:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_display_option"
down_revision: str | Sequence[str] | None = "0013_cluster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column; existing offers were shown as cards."""
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "display_option", sa.String(length=16), nullable=False, server_default="card_only"
            )
        )


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("display_option")
