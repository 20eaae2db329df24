"""Helpers shared by the web chat tests: a widget, a started chat, an accepted chat."""

from __future__ import annotations

from typing import Any

import httpx

from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.seed import NOW

WIDGET = {
    "id": "shop",
    "title": "Shop help",
    "greeting": "Hello!",
    "queue_id": "support",
    "allowed_origins": ["https://shop.example.com"],
    "color": "#1f6f5c",
}


def auth(who: str) -> dict[str, str]:
    """Authorization headers for a token seeded by `seed_api`."""
    return {"Authorization": f"Bearer token-{who}"}


async def add_widget(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """Create a chat widget as admin."""
    r = await client.post("/chat-widgets", json=WIDGET | fields, headers=auth("admin"))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def start(
    client: httpx.AsyncClient,
    widget: str = "shop",
    email: str = "Ann@Example.com",
    question: str = "Where is my order?",
) -> dict[str, Any]:
    """Start a chat as a customer from the widget's form."""
    r = await client.post(
        "/chat/sessions",
        json={"widget": widget, "name": "Ann", "email": email, "question": question},
        headers={"Origin": "https://shop.example.com"},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def available(client: httpx.AsyncClient, agent: str) -> None:
    """Make an agent available."""
    r = await client.put(
        f"/agents/{agent}/presence", json={"presence_id": "available"}, headers=auth(agent)
    )
    assert r.status_code == 200, r.text


async def accept(client: httpx.AsyncClient, agent: str) -> dict[str, Any]:
    """Accept the agent's only pending offer."""
    r = await client.get(f"/agents/{agent}/offers", headers=auth(agent))
    assert r.status_code == 200, r.text
    [offer] = r.json()
    r = await client.post(f"/offers/{offer['id']}/accept", headers=auth(agent))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def seed_chat_server(db_url: str) -> None:
    """Migrate a database and seed agents, queues, tokens and the 'shop' and 'demo' widgets."""
    migrate.upgrade(db_url)
    db = Database(db_url)
    try:
        await seed_api(db)
        async with db.session() as s, s.begin():
            for widget_id, title in (("shop", "Shop help"), ("demo", "Northwind Outfitters")):
                s.add(
                    t.ChatWidgetRow(
                        **(WIDGET | {"id": widget_id, "title": title}),
                        enabled=True,
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
    finally:
        await db.dispose()
