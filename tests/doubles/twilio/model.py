"""The double's TaskRouter: workers, activities, task queues, tasks and reservations."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "double-auth-token-0123456789abcdef"
WORKSPACE_SID = "WS" + "b" * 32
WORKFLOW_SID = "WW" + "c" * 32
API = "https://taskrouter.twilio.com/v1"
EQUALS = re.compile(r'^\s*([\w.]+)\s*==\s*"([^"]*)"\s*$')
HAS = re.compile(r'^\s*([\w.]+)\s+HAS\s+"([^"]*)"\s*$')


def sid(prefix: str) -> str:
    """A fresh SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def iso(when: datetime) -> str:
    """Twilio's date format in JSON answers."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def lookup(attributes: dict[str, Any], path: str) -> Any:
    """A dotted attribute path, or None."""
    value: Any = attributes
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def matches(expression: str, attributes: dict[str, Any]) -> bool:
    """The small part of TaskRouter's expression language the double needs."""
    if expression.strip() == "1==1":
        return True
    if m := EQUALS.match(expression):
        return str(lookup(attributes, m.group(1))) == m.group(2)
    if m := HAS.match(expression):
        found = lookup(attributes, m.group(1))
        return isinstance(found, list) and m.group(2) in found
    msg = f"unsupported expression: {expression}"
    raise ValueError(msg)


class TwilioError(Exception):
    """A REST error in Twilio's JSON shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        """Twilio's error document."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class Activity:
    """A worker state."""

    sid: str
    name: str
    available: bool

    def json(self) -> dict[str, Any]:
        """Twilio's Activity resource."""
        now = iso(datetime.now(UTC))
        return {
            "account_sid": ACCOUNT_SID,
            "workspace_sid": WORKSPACE_SID,
            "sid": self.sid,
            "friendly_name": self.name,
            "available": self.available,
            "date_created": now,
            "date_updated": now,
            "url": f"{API}/Workspaces/{WORKSPACE_SID}/Activities/{self.sid}",
            "links": {"workspace": f"{API}/Workspaces/{WORKSPACE_SID}"},
        }


@dataclass
class Worker:
    """A Flex agent."""

    sid: str
    name: str
    attributes: dict[str, Any]
    activity: Activity
    # Task channel unique name -> configured capacity.
    channels: dict[str, int] = field(
        default_factory=lambda: {"default": 1, "voice": 1, "chat": 2, "sms": 1, "video": 1}
    )

    def channels_json(self) -> list[dict[str, Any]]:
        """Twilio's WorkerChannel resources of this worker."""
        now = iso(datetime.now(UTC))
        return [
            {
                "account_sid": ACCOUNT_SID,
                "assigned_tasks": 0,
                "available": capacity > 0,
                "available_capacity_percentage": 100 if capacity > 0 else 0,
                "configured_capacity": capacity,
                "date_created": now,
                "date_updated": now,
                "sid": "WC" + f"{n:032d}",
                "task_channel_sid": "TC" + f"{n:032d}",
                "task_channel_unique_name": name,
                "worker_sid": self.sid,
                "workspace_sid": WORKSPACE_SID,
                "url": f"{API}/Workspaces/{WORKSPACE_SID}/Workers/{self.sid}/Channels/TC{n:032d}",
            }
            for n, (name, capacity) in enumerate(sorted(self.channels.items()))
        ]

    def json(self) -> dict[str, Any]:
        """Twilio's Worker resource."""
        now = iso(datetime.now(UTC))
        return {
            "account_sid": ACCOUNT_SID,
            "workspace_sid": WORKSPACE_SID,
            "sid": self.sid,
            "friendly_name": self.name,
            "attributes": json.dumps(self.attributes),
            "activity_sid": self.activity.sid,
            "activity_name": self.activity.name,
            "available": self.activity.available,
            "date_created": now,
            "date_updated": now,
            "date_status_changed": now,
            "url": f"{API}/Workspaces/{WORKSPACE_SID}/Workers/{self.sid}",
            "links": {},
        }


@dataclass
class TaskQueue:
    """A task queue and which workers it targets."""

    sid: str
    name: str
    target_workers: str

    def json(self) -> dict[str, Any]:
        """Twilio's TaskQueue resource."""
        now = iso(datetime.now(UTC))
        return {
            "account_sid": ACCOUNT_SID,
            "workspace_sid": WORKSPACE_SID,
            "sid": self.sid,
            "friendly_name": self.name,
            "target_workers": self.target_workers,
            "task_order": "FIFO",
            "max_reserved_workers": 1,
            "date_created": now,
            "date_updated": now,
            "url": f"{API}/Workspaces/{WORKSPACE_SID}/TaskQueues/{self.sid}",
            "links": {},
        }


@dataclass
class Task:
    """A task and where it stands."""

    sid: str
    attributes: dict[str, Any]
    priority: int
    channel: str
    timeout: int
    created: datetime
    status: str = "pending"
    reason: str | None = None
    queue_sid: str | None = None
    rejected_by: set[str] = field(default_factory=set)

    def json(self) -> dict[str, Any]:
        """Twilio's Task resource."""
        now = datetime.now(UTC)
        return {
            "account_sid": ACCOUNT_SID,
            "workspace_sid": WORKSPACE_SID,
            "workflow_sid": WORKFLOW_SID,
            "workflow_friendly_name": "Omniroute",
            "sid": self.sid,
            "attributes": json.dumps(self.attributes),
            "assignment_status": self.status,
            "priority": self.priority,
            "reason": self.reason,
            "task_channel_unique_name": self.channel,
            "task_queue_sid": self.queue_sid,
            "timeout": self.timeout,
            "age": int((now - self.created).total_seconds()),
            "date_created": iso(self.created),
            "date_updated": iso(now),
            "url": f"{API}/Workspaces/{WORKSPACE_SID}/Tasks/{self.sid}",
            "links": {},
        }


@dataclass
class Reservation:
    """A task reserved for one worker."""

    sid: str
    task: Task
    worker: Worker
    created: datetime
    status: str = "pending"

    def json(self) -> dict[str, Any]:
        """Twilio's Reservation resource."""
        now = iso(datetime.now(UTC))
        base = f"{API}/Workspaces/{WORKSPACE_SID}"
        return {
            "account_sid": ACCOUNT_SID,
            "workspace_sid": WORKSPACE_SID,
            "sid": self.sid,
            "task_sid": self.task.sid,
            "worker_sid": self.worker.sid,
            "worker_name": self.worker.name,
            "reservation_status": self.status,
            "date_created": iso(self.created),
            "date_updated": now,
            "url": f"{base}/Workers/{self.worker.sid}/Reservations/{self.sid}",
            "links": {},
        }
