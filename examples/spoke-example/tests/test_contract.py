"""The Pigeon Desk spoke passes Omniroute's spoke contract, against the Pigeon double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from omniroute_spoke_example import PigeonSpoke
from pigeon_double import TOKEN, PigeonDesk

from omniroute.testing.server import serving
from omniroute.testing.spoke_contract import SpokeContract


class TestPigeonContract(SpokeContract):
    """Everything Omniroute expects of a spoke, checked for PigeonSpoke."""

    spoke_class = PigeonSpoke

    def settings(self) -> dict[str, Any]:
        """Settings for the tests that need no Pigeon running (set-up contacts nobody)."""
        return {"base_url": "http://127.0.0.1:9", "api_token": TOKEN}

    @asynccontextmanager
    async def provider(self) -> AsyncIterator[dict[str, Any]]:
        """A Pigeon Desk double on 127.0.0.1; afterwards, the ticket must be closed."""
        desk = PigeonDesk()
        async with serving(desk) as url:
            yield {"base_url": url, "api_token": TOKEN, "timeout_s": 5}
        (ticket,) = desk.tickets.values()
        assert ticket["state"] == "closed"
        assert ticket["wrap_up"] == "Resolved"
        assert desk.statuses == {"P-alice": "On Queue"}
