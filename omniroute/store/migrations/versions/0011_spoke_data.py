"""spoke store: one spoke_data table; the Genesys and Connect id maps move into it

Revision ID: 0011_spoke_data
Revises: 0010_agent_preferences
Create Date: 2026-12-03 08:10:00+00:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011_spoke_data"
down_revision: str | Sequence[str] | None = "0010_agent_preferences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

spoke_data = sa.table(
    "spoke_data",
    sa.column("spoke", sa.String),
    sa.column("key", sa.String),
    sa.column("version", sa.Integer),
    sa.column("data", sa.Text),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
spokes = sa.table("spokes", sa.column("name", sa.String), sa.column("kind", sa.String))


def _genesys_table() -> sa.Table:
    return op.create_table(
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


def _connect_table() -> sa.Table:
    return op.create_table(
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


def upgrade() -> None:
    """Create spoke_data, copy the id maps into it, drop their tables."""
    op.create_table(
        "spoke_data",
        sa.Column("spoke", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["spoke"],
            ["spokes.name"],
            name=op.f("fk_spoke_data_spoke_spokes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("spoke", "key", name=op.f("pk_spoke_data")),
    )
    bind = op.get_bind()
    now = datetime.now(UTC)
    known = {row.name for row in bind.execute(sa.select(spokes.c.name))}
    rows: list[dict[str, object]] = []
    genesys = sa.table(
        "genesys_conversations",
        sa.column("spoke", sa.String),
        sa.column("document_id", sa.String),
        sa.column("conversation_id", sa.String),
    )
    for g in bind.execute(sa.select(genesys)):
        data = {"conversation_id": g.conversation_id}
        rows.append(_row(g.spoke, f"conversation/{g.document_id}", data, now))
    connect = sa.table(
        "connect_contacts",
        sa.column("spoke", sa.String),
        sa.column("document_id", sa.String),
        sa.column("contact_id", sa.String),
        sa.column("work_item_id", sa.String),
        sa.column("provider_queue_id", sa.String),
    )
    for c in bind.execute(sa.select(connect)):
        if c.spoke not in known:
            continue  # the spoke was deleted; its contacts meant nothing any more
        data = {
            "contact_id": c.contact_id,
            "document_id": c.document_id,
            "work_item_id": c.work_item_id,
            "provider_queue_id": c.provider_queue_id,
        }
        rows.append(_row(c.spoke, f"contact/{c.document_id}", data, now))
    if rows:
        op.bulk_insert(spoke_data, rows)
    with op.batch_alter_table("genesys_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_genesys_conversations_conversation_id"))
    op.drop_table("genesys_conversations")
    with op.batch_alter_table("connect_contacts", schema=None) as batch_op:
        batch_op.drop_index("ux_connect_contacts_contact")
    op.drop_table("connect_contacts")


def _row(spoke: str, key: str, data: dict[str, object], now: datetime) -> dict[str, object]:
    text = json.dumps(data, separators=(",", ":"))
    return {"spoke": spoke, "key": key, "version": 1, "data": text, "updated_at": now}


def downgrade() -> None:
    """Bring the id-map tables back from spoke_data, then drop it."""
    genesys = _genesys_table()
    with op.batch_alter_table("genesys_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_genesys_conversations_conversation_id"),
            ["conversation_id"],
            unique=False,
        )
    connect = _connect_table()
    with op.batch_alter_table("connect_contacts", schema=None) as batch_op:
        batch_op.create_index("ux_connect_contacts_contact", ["spoke", "contact_id"], unique=True)
    bind = op.get_bind()
    now = datetime.now(UTC)
    conversations: list[dict[str, object]] = []
    contacts: list[dict[str, object]] = []
    query = sa.select(spoke_data, spokes.c.kind).join(spokes, spokes.c.name == spoke_data.c.spoke)
    for row in bind.execute(query):
        value = json.loads(row.data)
        if row.kind == "genesys" and row.key.startswith("conversation/"):
            conversations.append(
                {
                    "spoke": row.spoke,
                    "document_id": row.key.removeprefix("conversation/"),
                    "conversation_id": value["conversation_id"],
                    "created_at": now,
                }
            )
        elif row.kind == "amazon_connect" and row.key.startswith("contact/"):
            contacts.append(
                {"spoke": row.spoke, "created_at": now, "updated_at": now}
                | {k: value[k] for k in ("document_id", "contact_id", "work_item_id")}
                | {"provider_queue_id": value.get("provider_queue_id")}
            )
    if conversations:
        op.bulk_insert(genesys, conversations)
    if contacts:
        op.bulk_insert(connect, contacts)
    op.drop_table("spoke_data")
