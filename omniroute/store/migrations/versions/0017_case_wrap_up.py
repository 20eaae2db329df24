"""a case's wrap-up code

Revision ID: 0017_case_wrap_up
Revises: 0016_profile_sync
Create Date: 2026-12-03 09:25:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_case_wrap_up"
down_revision: str | Sequence[str] | None = "0016_profile_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("wrap_up_code_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("wrap_up_code_id")
