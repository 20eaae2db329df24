"""amazon connect contacts

Revision ID: 0008_connect
Revises: 0007_genesys
Create Date: 2026-11-25 15:05:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_connect"
down_revision: str | Sequence[str] | None = "0007_genesys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "connect_contacts",
        sa.Column("spoke", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=256), nullable=False),
        sa.Column("work_item_id", sa.String(length=64), nullable=False),
        sa.Column("provider_queue_id", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("spoke", "document_id", name=op.f("pk_connect_contacts")),
    )
    with op.batch_alter_table("connect_contacts", schema=None) as batch_op:
        batch_op.create_index("ux_connect_contacts_contact", ["spoke", "contact_id"], unique=True)


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("connect_contacts", schema=None) as batch_op:
        batch_op.drop_index("ux_connect_contacts_contact")
    op.drop_table("connect_contacts")
