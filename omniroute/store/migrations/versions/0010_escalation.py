"""work item cancel detail

Revision ID: 0010_escalation
Revises: 0009_operations
Create Date: 2026-12-03 08:01:38.114603+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_escalation"
down_revision: str | Sequence[str] | None = "0009_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_detail", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_column("cancel_detail")
