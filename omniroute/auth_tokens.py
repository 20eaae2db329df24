"""API tokens: new random tokens and the SHA-256 digest the store keeps instead."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A new random API token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 digest of a token, as stored in `api_tokens.token_hash`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
