"""genesys conversations

Revision ID: 0007_genesys
Revises: 0006b_call_controls
Create Date: 2026-11-25 15:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_genesys"
down_revision: str | Sequence[str] | None = "0006b_call_controls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "genesys_conversations",
        sa.Column("spoke", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["spoke"],
            ["spokes.name"],
            name=op.f("fk_genesys_conversations_spoke_spokes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("spoke", "document_id", name=op.f("pk_genesys_conversations")),
    )
    with op.batch_alter_table("genesys_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_genesys_conversations_conversation_id"),
            ["conversation_id"],
            unique=False,
        )


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("genesys_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_genesys_conversations_conversation_id"))
    op.drop_table("genesys_conversations")
