"""The public case form: signed one-time form tokens, validation, filing the case."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from omniroute.core.messages import FileCaseForm

TOKEN_TTL = timedelta(hours=2)
KEY_PREFIX = "case-form:"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIMITS = {"name": 200, "email": 320, "subject": 200, "description": 5000}
HONEYPOT = "website"


@dataclass(frozen=True, slots=True)
class CaseForm:
    """What the customer typed, and what is wrong with it."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """Whether the case can be filed."""
        return not self.errors


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def issue_token(secret: str, now: datetime) -> str:
    """A form token: when it was issued, a one-time nonce, and their signature."""
    payload = f"{int(now.timestamp())}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_sign(secret, payload)}"


def token_nonce(secret: str, token: str, now: datetime) -> str | None:
    """The nonce of a genuine, unexpired token; None for anything else."""
    issued, _, rest = token.partition(".")
    nonce, _, signature = rest.partition(".")
    if not issued.isdigit() or not nonce or not signature:
        return None
    if not hmac.compare_digest(_sign(secret, f"{issued}.{nonce}"), signature):
        return None
    age = now.timestamp() - int(issued)
    return nonce if 0 <= age <= TOKEN_TTL.total_seconds() else None


def is_bot(data: Mapping[str, str]) -> bool:
    """Whether the hidden field that people never see was filled in."""
    return bool(data.get(HONEYPOT, "").strip())


def read_form(data: Mapping[str, str]) -> CaseForm:
    """The form's values, trimmed, with an error per field that needs fixing."""
    values = {name: data.get(name, "").strip() for name in LIMITS}
    values["email"] = values["email"].lower()
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Enter your name."
    if not EMAIL.match(values["email"]):
        errors["email"] = "Enter an email address like name@example.com."
    if not values["subject"]:
        errors["subject"] = "Say in a few words what this is about."
    if len(values["description"]) < 10:
        errors["description"] = "Describe the problem in at least 10 characters."
    for name, limit in LIMITS.items():
        if len(values[name]) > limit and name not in errors:
            errors[name] = f"Keep this under {limit} characters."
    return CaseForm(values, errors)


def digest(form: CaseForm) -> str:
    """A digest of the submitted values, kept with the idempotency key."""
    joined = "\x1f".join(form.values[name] for name in LIMITS)
    return hashlib.sha256(joined.encode()).hexdigest()


def file_command(form: CaseForm, queue_id: str, nonce: str) -> FileCaseForm:
    """The command that files the case, keyed by the form's nonce so a re-send files nothing."""
    fields = {
        "customer_name": form.values["name"],
        "customer_email": form.values["email"],
        "subject": form.values["subject"],
        "description": form.values["description"],
    }
    return FileCaseForm(fields, queue_id, KEY_PREFIX + nonce, digest(form))
