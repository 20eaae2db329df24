"""report presence seconds as JSONB on PostgreSQL

Revision ID: 0021_report_jsonb
Revises: 0020_agent_disabled
Create Date: 2026-12-03 13:50:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_report_jsonb"
down_revision: str | Sequence[str] | None = "0020_agent_disabled"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema (SQLite keeps JSON as text)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE interval_stats ALTER COLUMN presence_s TYPE jsonb USING presence_s::jsonb"
        )


def downgrade() -> None:
    """Downgrade the schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE interval_stats ALTER COLUMN presence_s TYPE json USING presence_s::json"
        )
