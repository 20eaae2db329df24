"""The hooks a cluster gives the engine to fence its commits (see omniroute/cluster)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.door import Message
from omniroute.core.state import Tx


class Deposed(Exception):  # noqa: N818 - a state, not a failure of ours
    """This node no longer holds the lead: its engine must stop at once and write nothing."""


class CommitFence(Protocol):
    """Runs inside every engine commit's transaction."""

    async def check(self, session: AsyncSession) -> None:
        """Check (and renew) the lead; raise `Deposed` if another node holds it."""

    async def commit(self, tx: Tx, config_changed: bool, results: list[dict[str, Any]]) -> None:
        """Write the batch and the `results` of its keyed commands, logged and announced.

        All or nothing; `Deposed` (nothing written) if another node leads.
        """

    def close(self) -> None:
        """The engine stopped: let go of what the commits held (a connection)."""


class Forwarder(Protocol):
    """Sends commands and queries to the node that leads, when this one does not."""

    async def send(self, message: Message[Any], key: str | None) -> Any:
        """The message's result from the leader's engine."""

    async def reload(self) -> None:
        """Ask the leader's engine to re-read configuration."""
