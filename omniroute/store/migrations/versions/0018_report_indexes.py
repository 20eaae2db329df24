"""report indexes: bounded time ranges for the interval roll-up

Revision ID: 0018_report_indexes
Revises: 0017_case_wrap_up
Create Date: 2026-12-03 13:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_report_indexes"
down_revision: str | Sequence[str] | None = "0017_case_wrap_up"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_work_items_created_at", "work_items", ["created_at"]),
    ("ix_work_items_accepted_at", "work_items", ["accepted_at"]),
    ("ix_offers_created_at", "offers", ["created_at"]),
    ("ix_offers_ended_at", "offers", ["ended_at"]),
    ("ix_agent_events_type_created_at", "agent_events", ["type", "created_at"]),
)


def upgrade() -> None:
    """Upgrade the schema."""
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    """Downgrade the schema."""
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
