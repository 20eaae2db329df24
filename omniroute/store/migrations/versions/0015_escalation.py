"""work item cancel detail, interval statistics

Revision ID: 0015_escalation
Revises: 0014_display_option
Create Date: 2026-12-03 08:16:58.099370+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_escalation"
down_revision: str | Sequence[str] | None = "0014_display_option"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "interval_stats",
        sa.Column("span", sa.String(length=4), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("offered", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("timed_out", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("transferred", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("answered_within", sa.Integer(), nullable=False),
        sa.Column("answer_s", sa.Float(), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("handle_s", sa.Float(), nullable=False),
        sa.Column("longest_wait_s", sa.Float(), nullable=False),
        sa.Column("busy_s", sa.Float(), nullable=False),
        sa.Column("presence_s", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("span", "scope", "start", "key", name=op.f("pk_interval_stats")),
    )
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_detail", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_column("cancel_detail")

    op.drop_table("interval_stats")
