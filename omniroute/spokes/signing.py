"""HMAC-SHA256 request signing with a timestamp, shared by the webhook spoke and its peers.

The signature covers `"{timestamp}.{body}"`; a receiver refuses a timestamp outside its
tolerance (replay protection) and, with the event id, a repeat it has already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Omniroute-Timestamp"
SIGNATURE_HEADER = "X-Omniroute-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureError(Exception):
    """A request's signature is missing, malformed, stale or wrong."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `timestamp.body` under the secret."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Headers that sign a body now."""
    timestamp = int(now if now is not None else time.time())
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SCHEME}={signature(secret, timestamp, body)}",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> int:
    """Check a signed request; returns its timestamp or raises SignatureError."""
    raw_ts = _header(headers, TIMESTAMP_HEADER)
    raw_sig = _header(headers, SIGNATURE_HEADER)
    if raw_ts is None or raw_sig is None:
        msg = f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header"
        raise SignatureError(msg)
    try:
        timestamp = int(raw_ts)
    except ValueError as err:
        msg = f"{TIMESTAMP_HEADER} must be integer Unix seconds"
        raise SignatureError(msg) from err
    current = now if now is not None else time.time()
    if abs(current - timestamp) > tolerance_s:
        msg = f"timestamp is more than {tolerance_s}s away from now; refusing a possible replay"
        raise SignatureError(msg)
    expected = signature(secret, timestamp, body)
    # A header may carry several signatures (during a secret rotation): any match is enough.
    # Parts may be separated by ", " as well as "," (as Stripe's header is).
    parts = [part.strip() for part in raw_sig.split(",")]
    offered = [part.split("=", 1)[1] for part in parts if part.startswith(f"{SCHEME}=")]
    if not any(hmac.compare_digest(expected, candidate.strip()) for candidate in offered):
        msg = "signature does not match"
        raise SignatureError(msg)
    return timestamp
