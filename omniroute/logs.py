"""Logging set-up for the server: uvicorn's formats, with credentials redacted everywhere."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

REDACTED = "[redacted]"
# Query parameters that carry a credential (the feed and chat sockets take `?token=`).
_SECRET_PARAM = re.compile(
    r"([?&](?:token|access_token|api_key|apikey|key|secret|password|passwd|signature)=)[^&#\s\"']*",
    re.IGNORECASE,
)
# The password of a URL's user information: scheme://user:password@host.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.IGNORECASE)
_BEARER = re.compile(r"(\bbearer\s+)[^\s\"',;]+", re.IGNORECASE)


def redact(text: str) -> str:
    """The text with tokens in query strings, URL passwords and bearer tokens replaced."""
    text = _SECRET_PARAM.sub(rf"\1{REDACTED}", text)
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    return _BEARER.sub(rf"\1{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Redacts credentials in a record's message and arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redacted(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def _redacted(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


def log_config(level: str = "warning") -> dict[str, Any]:
    """uvicorn's logging configuration with the redacting filter on every handler.

    The root logger writes warnings through the same handler, so the application's own
    warnings and tracebacks are redacted as well; Omniroute's own loggers log from `level`
    (the few INFO lines are a node's lead changing hands and how long each takeover phase took).
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": f"{__name__}.RedactSecrets"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    # uvicorn's "trace" is below DEBUG.
    own = "DEBUG" if level.lower() == "trace" else level.upper()
    config.setdefault("loggers", {})["omniroute"] = {"level": own}
    return config
