"""The double's TaskRouter behaviour: routing, reservations and the callbacks they cause."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from tests.doubles.twilio.model import (
    ACCOUNT_SID,
    WORKFLOW_SID,
    WORKSPACE_SID,
    Activity,
    Reservation,
    Task,
    TaskQueue,
    TwilioError,
    Worker,
    matches,
    sid,
)

Callback = tuple[
    str, dict[str, str]
]  # ("assignment" | "event" | "conference" | "call", form fields)
OPEN = frozenset({"pending", "accepted"})


def default_workers(activities: dict[str, Activity]) -> list[Worker]:
    """Three Flex agents, offline; one identified only by a Flex contact_uri."""
    offline = activities["Offline"]
    return [
        Worker(
            "WK" + "1" * 32,
            "alice",
            {
                "email": "alice@demo.omniroute.local",
                "full_name": "Alice",
                "routing": {"skills": ["billing", "english"]},
            },
            offline,
        ),
        Worker(
            "WK" + "2" * 32,
            "bob",
            {
                "contact_uri": "client:bob_40demo_2Eomniroute_2Elocal",
                "routing": {"skills": ["tech", "english"]},
            },
            offline,
        ),
        Worker(
            "WK" + "3" * 32,
            "carol",
            {"email": "carol@demo.omniroute.local", "skills": ["billing", "french"]},
            offline,
        ),
    ]


class Workspace:
    """One workspace with one workflow, routing tasks to available workers one at a time."""

    def __init__(self, reservation_timeout_s: float, notify: Callable[[Callback], None]) -> None:
        self.reservation_timeout_s = reservation_timeout_s
        self.notify = notify
        self.activities = {
            name: Activity(sid("WA"), name, available)
            for name, available in (
                ("Offline", False),
                ("Available", True),
                ("Unavailable", False),
                ("Break", False),
            )
        }
        self.queues = {
            q.sid: q
            for q in (
                TaskQueue("WQ" + "0" * 31 + "1", "General", "1==1"),
                TaskQueue("WQ" + "0" * 31 + "2", "Billing", 'routing.skills HAS "billing"'),
                TaskQueue("WQ" + "0" * 31 + "3", "Tech", 'routing.skills HAS "tech"'),
            )
        }
        self.workers = {w.sid: w for w in default_workers(self.activities)}
        self.tasks: dict[str, Task] = {}
        # Called with each new task before it is routed (the Voice API pairs calls with it).
        self.on_task: Callable[[Task], None] | None = None
        self.reservations: dict[str, Reservation] = {}

    # -- REST operations -----------------------------------------------------------------

    def activity(self, key: str) -> Activity:
        """An activity by SID."""
        found = next((a for a in self.activities.values() if a.sid == key), None)
        if found is None:
            raise TwilioError(404, 20404, f"The requested resource Activity {key} was not found")
        return found

    def worker(self, key: str) -> Worker:
        """A worker by SID."""
        if key not in self.workers:
            raise TwilioError(404, 20404, f"The requested resource Worker {key} was not found")
        return self.workers[key]

    def task(self, key: str) -> Task:
        """A task by SID."""
        if key not in self.tasks:
            raise TwilioError(404, 20404, f"The requested resource Task {key} was not found")
        return self.tasks[key]

    def reservation(self, worker_sid: str, key: str) -> Reservation:
        """A worker's reservation by SID."""
        found = self.reservations.get(key)
        if found is None or found.worker.sid != worker_sid:
            raise TwilioError(404, 20404, f"The requested resource Reservation {key} was not found")
        return found

    def create_task(self, form: dict[str, str]) -> Task:
        """POST /Tasks."""
        if form.get("WorkflowSid") != WORKFLOW_SID:
            raise TwilioError(400, 20001, f"Workflow {form.get('WorkflowSid')} not found")
        try:
            attributes = json.loads(form.get("Attributes", "{}"))
        except ValueError as err:
            raise TwilioError(400, 20001, "Attributes must be a JSON object") from err
        task = Task(
            sid("WT"),
            attributes,
            int(form.get("Priority", "0")),
            form.get("TaskChannel", "default"),
            int(form.get("Timeout", "86400")),
            datetime.now(UTC),
        )
        self.tasks[task.sid] = task
        if self.on_task is not None:
            self.on_task(task)
        self.route()
        return task

    def list_tasks(self, expression: str | None) -> list[Task]:
        """GET /Tasks, newest first, filtered by EvaluateTaskAttributes."""
        tasks = sorted(self.tasks.values(), key=lambda t: t.created, reverse=True)
        if expression:
            try:
                return [t for t in tasks if matches(expression, t.attributes)]
            except ValueError as err:
                raise TwilioError(400, 20001, str(err)) from err
        return tasks

    def update_task(self, task: Task, form: dict[str, str]) -> Task:
        """POST /Tasks/{sid}: attributes, cancel or complete."""
        if "Attributes" in form:
            task.attributes = json.loads(form["Attributes"])
        status = form.get("AssignmentStatus")
        task.reason = form.get("Reason", task.reason)
        if status == "canceled":
            if task.status not in ("pending", "reserved"):
                raise TwilioError(400, 20001, f"Cannot cancel a task that is {task.status}")
            self._end_reservations(task, "canceled")
            task.status = "canceled"
        elif status == "completed":
            if task.status not in ("assigned", "wrapping"):
                raise TwilioError(400, 20001, f"Cannot complete a task that is {task.status}")
            for r in self._of(task, "accepted"):
                r.status = "completed"
            task.status = "completed"
        elif status is not None:
            raise TwilioError(400, 20001, f"Unsupported AssignmentStatus {status}")
        self.route()
        return task

    def update_reservation(self, reservation: Reservation, form: dict[str, str]) -> Reservation:
        """POST /Workers/{wk}/Reservations/{wr}: accept or reject."""
        status = form.get("ReservationStatus")
        if reservation.status != "pending":
            raise TwilioError(
                400, 20001, f"Reservation {reservation.sid} is {reservation.status}, not pending"
            )
        if status == "accepted":
            reservation.status = "accepted"
            reservation.task.status = "assigned"
            self._event("reservation.accepted", reservation)
        elif status == "rejected":
            reservation.status = "rejected"
            reservation.task.status = "pending"
            reservation.task.rejected_by.add(reservation.worker.sid)
            self._event("reservation.rejected", reservation)
        else:
            raise TwilioError(400, 20001, f"Unsupported ReservationStatus {status}")
        self.route()
        return reservation

    def set_activity(self, worker: Worker, activity: Activity) -> Worker:
        """POST /Workers/{sid} ActivitySid, or the agent picking it in Flex."""
        previous = worker.activity
        worker.activity = activity
        if previous.sid != activity.sid:
            self.notify(("event", self._worker_fields("worker.activity.update", worker, previous)))
        self.route()
        return worker

    def sign_in(self, worker: Worker) -> None:
        """Flex's single sign-on writes the agent's attributes at every login."""
        self.notify(("event", self._worker_fields("worker.attributes.update", worker, None)))

    def expire(self, now: datetime, force: str | None = None) -> None:
        """Time pending reservations out (all overdue ones, or the one named)."""
        for r in list(self.reservations.values()):
            overdue = (now - r.created).total_seconds() >= self.reservation_timeout_s
            if r.status == "pending" and (overdue or r.sid == force):
                r.status = "timeout"
                r.task.status = "pending"
                r.task.rejected_by.add(r.worker.sid)
                self._event("reservation.timeout", r)
        self.route()

    # -- routing ---------------------------------------------------------------------------

    def route(self) -> None:
        """Reserve each pending task for the first free, available, eligible worker."""
        pending = sorted(
            (t for t in self.tasks.values() if t.status == "pending"),
            key=lambda t: (-t.priority, t.created),
        )
        for task in pending:
            queue, candidates = self._candidates(task)
            worker = next((w for w in candidates if self._free(w, task)), None)
            if worker is None:
                continue
            reservation = Reservation(sid("WR"), task, worker, datetime.now(UTC))
            self.reservations[reservation.sid] = reservation
            task.status = "reserved"
            task.queue_sid = queue
            self.notify(("assignment", self._assignment_fields(reservation)))
            self._event("reservation.created", reservation)

    def _candidates(self, task: Task) -> tuple[str | None, list[Worker]]:
        target = task.attributes.get("transferTargetType")
        if target == "worker":
            worker = self.workers.get(str(task.attributes.get("transferTargetSid")))
            return task.attributes.get("queue"), [worker] if worker else []
        queue = self.queues.get(str(task.attributes.get("queue")))
        if queue is None:
            return None, []
        eligible = [w for w in self.workers.values() if matches(queue.target_workers, w.attributes)]
        return queue.sid, eligible

    def _free(self, worker: Worker, task: Task) -> bool:
        if not worker.activity.available or worker.sid in task.rejected_by:
            return False
        busy = any(
            r.worker.sid == worker.sid and r.status in OPEN and r.task.status != "completed"
            for r in self.reservations.values()
        )
        return not busy

    def _of(self, task: Task, status: str) -> list[Reservation]:
        return [r for r in self.reservations.values() if r.task is task and r.status == status]

    def _end_reservations(self, task: Task, status: str) -> None:
        for r in self._of(task, "pending"):
            r.status = status
            self._event(f"reservation.{status}", r)

    # -- callbacks -------------------------------------------------------------------------

    def _common(self, event_type: str, resource_type: str, resource_sid: str) -> dict[str, str]:
        return {
            "Sid": sid("EV"),
            "EventType": event_type,
            "AccountSid": ACCOUNT_SID,
            "WorkspaceSid": WORKSPACE_SID,
            "WorkspaceName": "Flex Task Assignment",
            "EventDescription": f"{resource_type} {resource_sid} {event_type}",
            "ResourceType": resource_type,
            "ResourceSid": resource_sid,
            "Timestamp": str(int(datetime.now(UTC).timestamp())),
        }

    def _event(self, event_type: str, r: Reservation) -> None:
        fields = self._common(event_type, "Reservation", r.sid) | {
            "TaskSid": r.task.sid,
            "TaskAttributes": json.dumps(r.task.attributes),
            "TaskAge": str(int((datetime.now(UTC) - r.task.created).total_seconds())),
            "TaskPriority": str(r.task.priority),
            "TaskAssignmentStatus": r.task.status,
            "TaskQueueSid": r.task.queue_sid or "",
            "WorkflowSid": WORKFLOW_SID,
            "ReservationSid": r.sid,
            "WorkerSid": r.worker.sid,
            "WorkerName": r.worker.name,
            "WorkerAttributes": json.dumps(r.worker.attributes),
            "WorkerActivitySid": r.worker.activity.sid,
            "WorkerActivityName": r.worker.activity.name,
        }
        self.notify(("event", fields))

    def _worker_fields(
        self, event_type: str, worker: Worker, previous: Activity | None
    ) -> dict[str, str]:
        fields = self._common(event_type, "Worker", worker.sid) | {
            "WorkerSid": worker.sid,
            "WorkerName": worker.name,
            "WorkerAttributes": json.dumps(worker.attributes),
            "WorkerActivitySid": worker.activity.sid,
            "WorkerActivityName": worker.activity.name,
        }
        if previous is not None:
            fields |= {
                "WorkerPreviousActivitySid": previous.sid,
                "WorkerTimeInPreviousActivity": "1",
            }
        return fields

    def _assignment_fields(self, r: Reservation) -> dict[str, str]:
        return {
            "AccountSid": ACCOUNT_SID,
            "WorkspaceSid": WORKSPACE_SID,
            "WorkflowSid": WORKFLOW_SID,
            "TaskQueueSid": r.task.queue_sid or "",
            "WorkerSid": r.worker.sid,
            "TaskSid": r.task.sid,
            "ReservationSid": r.sid,
            "TaskAge": "0",
            "TaskAttributes": json.dumps(r.task.attributes),
            "WorkerAttributes": json.dumps(r.worker.attributes),
        }
