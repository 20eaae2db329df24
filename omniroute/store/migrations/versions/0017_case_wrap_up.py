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


# Plain ALTER TABLE on both stores: a SQLite batch rebuild of `cases` would drop its search
# triggers (see docs/architecture.md).


def upgrade() -> None:
    """Upgrade the schema."""
    op.add_column("cases", sa.Column("wrap_up_code_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_column("cases", "wrap_up_code_id")
