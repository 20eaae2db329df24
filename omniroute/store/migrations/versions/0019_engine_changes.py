"""engine changes: the leader's change log that hot standbys follow

Revision ID: 0019_engine_changes
Revises: 0018_report_indexes
Create Date: 2026-12-03 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_engine_changes"
down_revision: str | Sequence[str] | None = "0018_report_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "engine_changes",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_engine_changes")),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_table("engine_changes")
