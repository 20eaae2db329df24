"""files attached to a case's email replies: attachments belong to an interaction or a case

Revision ID: 0022_case_attachments
Revises: 0021_report_jsonb
Create Date: 2026-12-03 14:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_case_attachments"
down_revision: str | Sequence[str] | None = "0021_report_jsonb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.alter_column("interaction_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("case_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_attachments_case_id"), ["case_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_case_id_cases"),
            "cases",
            ["case_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    """Downgrade the schema."""
    op.execute("DELETE FROM attachments WHERE interaction_id IS NULL")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_attachments_case_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_attachments_case_id"))
        batch_op.drop_column("case_id")
        batch_op.alter_column("interaction_id", existing_type=sa.String(length=64), nullable=False)
