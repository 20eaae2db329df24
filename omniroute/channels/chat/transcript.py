"""Stored chat messages as the API and the customer's socket show them."""

from __future__ import annotations

from typing import Any

from omniroute.core.chat import message_out


def stored_message(row: Any) -> dict[str, Any]:
    """A stored message row as the API shows it."""
    return message_out(row)
