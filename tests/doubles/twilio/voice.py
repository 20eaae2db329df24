"""The double's Voice API: calls, conferences, participants and their status callbacks."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ET

from tests.doubles.twilio.model import ACCOUNT_SID, Task, TwilioError, iso, sid

VOICE_API = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
FLEX_NUMBER = "+15005550006"
Notify = Callable[[tuple[str, dict[str, str]]], None]


def _true(form: dict[str, str], name: str, default: bool = False) -> bool:
    raw = form.get(name)
    return default if raw is None else raw.lower() == "true"


@dataclass
class VoiceCall:
    """One leg: a caller's inbound call or a call the Voice API placed."""

    sid: str
    from_: str
    to: str
    direction: str
    status: str = "queued"
    status_callback: str | None = None
    sequence: int = 0

    def json(self) -> dict[str, Any]:
        """Twilio's Call resource."""
        now = iso(datetime.now(UTC))
        return {
            "sid": self.sid,
            "account_sid": ACCOUNT_SID,
            "from": self.from_,
            "to": self.to,
            "status": self.status,
            "direction": self.direction,
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "uri": f"{VOICE_API}/Calls/{self.sid}.json",
        }


@dataclass
class Participant:
    """A call in a conference."""

    call: VoiceCall
    label: str
    end_conference_on_exit: bool
    hold: bool = False
    muted: bool = False


@dataclass
class Conference:
    """A conference named by whoever made it; its callbacks go to one URL."""

    sid: str
    name: str
    status_callback: str | None
    participants: dict[str, Participant] = field(default_factory=dict)
    sequence: int = 0
    ended: bool = False

    def participant_json(self, p: Participant) -> dict[str, Any]:
        """Twilio's Participant resource."""
        now = iso(datetime.now(UTC))
        return {
            "account_sid": ACCOUNT_SID,
            "call_sid": p.call.sid,
            "conference_sid": self.sid,
            "label": p.label,
            "hold": p.hold,
            "muted": p.muted,
            "coaching": False,
            "end_conference_on_exit": p.end_conference_on_exit,
            "start_conference_on_enter": True,
            "status": "connected" if p.call.status == "in-progress" else "complete",
            "date_created": now,
            "date_updated": now,
            "uri": f"{VOICE_API}/Conferences/{self.sid}/Participants/{p.call.sid}.json",
        }


class Voice:
    """Calls waiting for a voice task, placed calls, and conferences."""

    def __init__(self, notify: Notify, callback_url: str) -> None:
        self.notify = notify
        self.callback_url = callback_url
        self.waiting: deque[tuple[VoiceCall, bool]] = deque()
        self.unanswered: dict[str, int] = {}
        self.calls: dict[str, VoiceCall] = {}
        self.conferences: dict[str, Conference] = {}

    # -- test controls ---------------------------------------------------------------------

    def caller(self, number: str, callback: bool) -> VoiceCall:
        """A customer calls the Flex number; for a callback, asks to be called and hangs up."""
        call = VoiceCall(sid("CA"), number, FLEX_NUMBER, "inbound", "in-progress")
        if callback:
            call.status = "completed"
        self.calls[call.sid] = call
        self.waiting.append((call, callback))
        return call

    def pair(self, task: Task) -> None:
        """A voice task takes the oldest waiting call, as Flex's <Enqueue> would have set it."""
        if task.channel != "voice" or not self.waiting:
            return
        call, _callback = self.waiting.popleft()
        task.attributes |= {"call_sid": call.sid, "from": call.from_, "to": call.to}

    # -- REST ------------------------------------------------------------------------------

    def _checked_callback(self, url: str | None) -> str | None:
        if url and url != self.callback_url:
            raise TwilioError(400, 21609, f"the double only calls back {self.callback_url}")
        return url or None

    def _conference(self, key: str, form: dict[str, str]) -> Conference:
        found = self.conferences.get(key) or next(
            (c for c in self.conferences.values() if c.sid == key), None
        )
        if found is not None and not found.ended:
            return found
        if key.startswith("CF"):
            raise TwilioError(404, 20404, f"Conference {key} was not found")
        conference = Conference(
            sid("CF"), key, self._checked_callback(form.get("ConferenceStatusCallback"))
        )
        self.conferences[key] = conference
        return conference

    def create_participant(self, key: str, form: dict[str, str]) -> dict[str, Any]:
        """POST /Conferences/{name or sid}/Participants.json: dial someone into a conference."""
        if not form.get("From") or not form.get("To"):
            raise TwilioError(400, 21604, "From and To are required")
        conference = self._conference(key, form)
        call = VoiceCall(sid("CA"), form["From"], form["To"], "outbound-api")
        call.status_callback = self._checked_callback(form.get("StatusCallback"))
        self.calls[call.sid] = call
        participant = Participant(
            call,
            form.get("Label", ""),
            _true(form, "EndConferenceOnExit"),
            muted=_true(form, "Muted"),
        )
        self._status(call, "initiated")
        self._status(call, "ringing")
        left = self.unanswered.get(call.to, 0)
        if left > 0:
            self.unanswered[call.to] = left - 1
            self._status(call, "no-answer")
        else:
            self._status(call, "in-progress")
            self._join(conference, participant)
        return conference.participant_json(participant)

    def update_participant(self, key: str, call_sid: str, form: dict[str, str]) -> dict[str, Any]:
        """POST /Conferences/{sid}/Participants/{CallSid}.json: hold or mute."""
        conference = self._conference(key, {})
        participant = conference.participants.get(call_sid)
        if participant is None:
            raise TwilioError(404, 20404, f"Participant {call_sid} was not found")
        if "Hold" in form and _true(form, "Hold") != participant.hold:
            participant.hold = _true(form, "Hold")
            self._event(
                conference,
                "participant-hold" if participant.hold else "participant-unhold",
                participant,
            )
        if "Muted" in form and _true(form, "Muted") != participant.muted:
            participant.muted = _true(form, "Muted")
            self._event(
                conference,
                "participant-mute" if participant.muted else "participant-unmute",
                participant,
            )
        return conference.participant_json(participant)

    def update_call(self, call_sid: str, form: dict[str, str]) -> dict[str, Any]:
        """POST /Calls/{Sid}.json: hang up (Status=completed) or redirect with new TwiML."""
        call = self.calls.get(call_sid)
        if call is None:
            raise TwilioError(404, 20404, f"Call {call_sid} was not found")
        if call.status in ("completed", "no-answer", "busy", "failed", "canceled"):
            raise TwilioError(400, 21220, f"Call {call_sid} is not in-progress. Cannot redirect.")
        if form.get("Status") == "completed":
            self.hang_up(call)
        elif "Twiml" in form:
            self._twiml(call, form["Twiml"])
        else:
            raise TwilioError(400, 20001, "give Status=completed or Twiml")
        return call.json()

    def hang_up(self, call: VoiceCall) -> None:
        """The call ends; a conference it ends on exit ends with it."""
        call.status = "completed"
        for conference in self.conferences.values():
            participant = conference.participants.pop(call.sid, None)
            if participant is None or conference.ended:
                continue
            self._event(conference, "participant-leave", participant)
            if participant.end_conference_on_exit:
                for other in list(conference.participants.values()):
                    other.call.status = "completed"
                    conference.participants.pop(other.call.sid)
                    self._event(conference, "participant-leave", other)
                    self._status(other.call, "completed")
                conference.ended = True
                self._event(conference, "conference-end", participant)
        self._status(call, "completed")

    def _twiml(self, call: VoiceCall, twiml: str) -> None:
        try:
            root = ET.fromstring(twiml)
        except ET.ParseError as err:
            raise TwilioError(400, 12100, f"Document parse failure: {err}") from err
        noun = root.find("./Dial/Conference")
        name = (noun.text or "").strip() if noun is not None else ""
        if root.tag != "Response" or noun is None or not name:
            raise TwilioError(400, 12200, "the double follows <Response><Dial><Conference> only")
        form = {"ConferenceStatusCallback": noun.get("statusCallback", "")}
        conference = self._conference(name, form)
        label = noun.get("participantLabel", "")
        exit_ends = noun.get("endConferenceOnExit", "false") == "true"
        self._join(conference, Participant(call, label, exit_ends))

    # -- callbacks -------------------------------------------------------------------------

    def _join(self, conference: Conference, participant: Participant) -> None:
        if not conference.participants:
            self._event(conference, "conference-start", participant)
        conference.participants[participant.call.sid] = participant
        self._event(conference, "participant-join", participant)

    def _event(self, conference: Conference, event: str, p: Participant) -> None:
        if conference.status_callback is None:
            return
        conference.sequence += 1
        fields = {
            "AccountSid": ACCOUNT_SID,
            "ConferenceSid": conference.sid,
            "FriendlyName": conference.name,
            "StatusCallbackEvent": event,
            "Timestamp": format_datetime(datetime.now(UTC), usegmt=True),
            "SequenceNumber": str(conference.sequence),
            "CallSid": p.call.sid,
            "ParticipantLabel": p.label,
            "Muted": json.dumps(p.muted),
            "Hold": json.dumps(p.hold),
            "Coaching": "false",
            "EndConferenceOnExit": json.dumps(p.end_conference_on_exit),
            "StartConferenceOnEnter": "true",
        }
        self.notify(("conference", fields))

    def _status(self, call: VoiceCall, status: str) -> None:
        call.status = status
        if call.status_callback is None:
            return
        call.sequence += 1
        fields = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": status,
            "CallbackSource": "call-progress-events",
            "Direction": call.direction,
            "From": call.from_,
            "To": call.to,
            "SequenceNumber": str(call.sequence),
            "Timestamp": format_datetime(datetime.now(UTC), usegmt=True),
        }
        self.notify(("call", fields))

    def state(self) -> dict[str, Any]:
        """Calls and conferences, for tests."""
        return {
            "calls": [c.json() for c in self.calls.values()],
            "conferences": [
                {
                    "sid": c.sid,
                    "friendly_name": c.name,
                    "ended": c.ended,
                    "participants": [c.participant_json(p) for p in c.participants.values()],
                }
                for c in self.conferences.values()
            ],
        }
