"""supervisor: per-queue service-level thresholds, an index for last-hour queries

Revision ID: 0006_supervisor
Revises: 0005_web_chat
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_supervisor"
down_revision: str | Sequence[str] | None = "0005_web_chat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "queue_service_levels",
        sa.Column("queue_id", sa.String(length=64), nullable=False),
        sa.Column("threshold_s", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_queue_service_levels_queue_id_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("pk_queue_service_levels")),
    )
    op.create_index("ix_work_items_ended_at", "work_items", ["ended_at"], unique=False)


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_index("ix_work_items_ended_at", table_name="work_items")
    op.drop_table("queue_service_levels")
