"""Idempotency-Key on mutating endpoints: a retry gets the first answer and changes nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from omniroute.api.idempotency import SELF_KEYED
from omniroute.store import tables as t
from tests.api.conftest import Api

BODY = {"channel_id": "chat", "queue_id": "support", "subject": "where is my order?"}


def _headers(who: str, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{who}", "Idempotency-Key": key}


async def _post(api: Api, body: dict[str, str], who: str, key: str) -> httpx.Response:
    return await api.client.post("/interactions", json=body, headers=_headers(who, key))


async def _interactions(api: Api) -> int:
    async with api.app.state.db.session() as session:
        count: int = await session.scalar(select(func.count()).select_from(t.InteractionRow))
    return count


async def test_a_retry_gets_the_first_answer(api: Api) -> None:
    first = await _post(api, BODY, "integration", "k1")
    assert first.status_code == 201, first.text
    again = await _post(api, BODY, "integration", "k1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await _interactions(api) == 1


async def test_keys_belong_to_their_caller(api: Api) -> None:
    mine = await _post(api, BODY, "integration", "k")
    theirs = await _post(api, BODY, "admin", "k")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert await _interactions(api) == 2


async def test_a_key_reused_for_another_request_is_refused(api: Api) -> None:
    first = await _post(api, BODY, "integration", "k")
    assert first.status_code == 201
    other = BODY | {"subject": "something else"}
    reused = await _post(api, other, "integration", "k")
    assert reused.status_code == 422
    error = reused.json()["error"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert error["field"] == "Idempotency-Key"
    assert await _interactions(api) == 1


async def test_a_bad_key_is_refused(api: Api) -> None:
    answer = await _post(api, BODY, "integration", "x" * 201)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "Idempotency-Key"
    assert await _interactions(api) == 0


async def test_a_retry_whose_answer_was_lost_runs_nothing_twice(api: Api) -> None:
    # The node died after the engine committed but before the answer was stored.
    first = await _post(api, BODY, "integration", "k")
    assert first.status_code == 201
    async with api.app.state.db.session() as session, session.begin():
        await session.execute(delete(t.RequestKeyRow))
    again = await _post(api, BODY, "integration", "k")
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert "idempotent-replayed" not in again.headers
    assert await _interactions(api) == 1


async def test_refusals_are_kept_too(api: Api) -> None:
    bad = BODY | {"queue_id": "nope"}
    first = await _post(api, bad, "integration", "k")
    assert 400 <= first.status_code < 500
    again = await _post(api, bad, "integration", "k")
    assert again.status_code == first.status_code
    assert again.json() == first.json()


async def test_every_mutating_endpoint_honours_a_key(api: Api) -> None:
    if api.app.state.db.dialect != "sqlite":
        pytest.skip("which routes the middleware wraps does not depend on the store")
    # Every write of the OpenAPI document, with a body its schema refuses (so the test needs no
    # valid body per endpoint): the refusal is stored and replayed like any answer, and the key
    # cannot be used again with another body. A route served around the middleware fails here.
    document = (await api.client.get("http://test/openapi.json")).json()
    writes = [
        (method.upper(), "http://test" + path.replace("{", "").replace("}", ""))
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"post", "put", "patch", "delete"} and path not in SELF_KEYED
    ]
    assert len(writes) > 80
    missed = []
    for n, (method, url) in enumerate(writes):
        headers = _headers("admin", f"probe-{n}")
        first = await api.client.request(method, url, json={"probe": 1}, headers=headers)
        again = await api.client.request(method, url, json={"probe": 1}, headers=headers)
        other = await api.client.request(method, url, json={"probe": 2}, headers=headers)
        if (
            first.status_code >= 500
            or again.headers.get("idempotent-replayed") != "true"
            or (again.status_code, again.content) != (first.status_code, first.content)
            or other.status_code != 422
            or other.json()["error"]["code"] != "IDEMPOTENCY_KEY_REUSED"
        ):
            missed.append(f"{method} {url}: {first.status_code} {again.status_code} {other.text}")
    assert missed == []


async def _customers(api: Api) -> int:
    async with api.app.state.db.session() as session:
        count: int = await session.scalar(select(func.count()).select_from(t.CustomerRow))
    return count


async def test_retries_sent_while_the_first_runs_wait_for_its_answer(api: Api) -> None:
    # A customer is written by the API, not by an engine command: only the key's reservation
    # keeps a retry that overtakes the first request from writing a second one.
    before = await _customers(api)
    answers = await asyncio.gather(
        *(
            api.client.post("/customers", json={"name": "Ann"}, headers=_headers("admin", "c1"))
            for _ in range(6)
        )
    )
    assert {(a.status_code, a.content) for a in answers} == {(201, answers[0].content)}
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 5
    assert await _customers(api) == before + 1


async def test_a_reservation_left_by_a_dead_node_is_taken_over(api: Api) -> None:
    first = await _post(api, BODY, "integration", "k")
    assert first.status_code == 201
    # As if the node died while the request ran: nothing stored but the reservation, which
    # nobody refreshes any more.
    async with api.app.state.db.session() as session, session.begin():
        await session.execute(update(t.RequestKeyRow).values(status=0))
    settings = api.app.state.settings
    api.app.state.settings = settings.model_copy(update={"idempotency_stale_s": 0.3})
    again = await _post(api, BODY, "integration", "k")
    api.app.state.settings = settings
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]  # its engine command ran once
    assert "idempotent-replayed" not in again.headers
    replayed = await _post(api, BODY, "integration", "k")
    assert replayed.headers["idempotent-replayed"] == "true"
