"""calendars, escalation, affinity, audit log

Revision ID: 0009_operations
Revises: 0008_connect
Create Date: 2026-12-03 07:44:22.514694+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_operations"
down_revision: str | Sequence[str] | None = "0008_connect"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "calendars",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("exceptions", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.String(length=200), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_interactions_customer_id"), ["customer_id"], unique=False
        )

    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "out_of_hours_action",
                sa.String(length=32),
                server_default="keep_queued",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("out_of_hours_queue_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("out_of_hours_message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("escalation", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(
            sa.Column("aging_per_min", sa.Float(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("exclusion_ttl_s", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reject_cooldown_s", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("affinity_wait_s", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_queues_calendar_id_calendars"), "calendars", ["calendar_id"], ["id"]
        )

    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excluded_until", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_step", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("preferred_agent_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_column("preferred_agent_id")
        batch_op.drop_column("entered_at")
        batch_op.drop_column("escalation_step")
        batch_op.drop_column("excluded_until")

    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_queues_calendar_id_calendars"), type_="foreignkey")
        batch_op.drop_column("affinity_wait_s")
        batch_op.drop_column("reject_cooldown_s")
        batch_op.drop_column("exclusion_ttl_s")
        batch_op.drop_column("aging_per_min")
        batch_op.drop_column("escalation")
        batch_op.drop_column("out_of_hours_message")
        batch_op.drop_column("out_of_hours_queue_id")
        batch_op.drop_column("out_of_hours_action")
        batch_op.drop_column("calendar_id")

    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interactions_customer_id"))
        batch_op.drop_column("customer_id")

    op.drop_table("calendars")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
