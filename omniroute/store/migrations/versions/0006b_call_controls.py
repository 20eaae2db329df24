"""call controls: call contexts per interaction, connector panels per spoke

Revision ID: 0006b_call_controls
Revises: 0006_supervisor
Create Date: 2026-11-25 14:49:35.445821+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006b_call_controls"
down_revision: str | Sequence[str] | None = "0006_supervisor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "spoke_panels",
        sa.Column("spoke", sa.String(length=64), nullable=False),
        sa.Column("panel_url", sa.String(length=2000), nullable=False),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["spoke"],
            ["spokes.name"],
            name=op.f("fk_spoke_panels_spoke_spokes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("spoke", name=op.f("pk_spoke_panels")),
    )
    op.create_table(
        "call_contexts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("interaction_id", sa.String(length=64), nullable=False),
        sa.Column("spoke", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("customer_number", sa.String(length=64), nullable=True),
        sa.Column("available_actions", sa.JSON(), nullable=False),
        sa.Column("provider_call_id", sa.String(length=200), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_call_contexts_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_contexts")),
    )
    with op.batch_alter_table("call_contexts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_contexts_interaction_id"), ["interaction_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("call_contexts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_contexts_interaction_id"))

    op.drop_table("call_contexts")
    op.drop_table("spoke_panels")
