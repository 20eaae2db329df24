"""The built-in spokes pass the spoke contract test kit a third party uses (omniroute.testing)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes.amazon_connect import AmazonConnectSpoke
from omniroute.spokes.base import Capability, RoutingEvent
from omniroute.spokes.events_schema import OUTGOING_EVENT
from omniroute.spokes.genesys import GenesysSpoke
from omniroute.spokes.twilio_flex import TwilioFlexSpoke
from omniroute.spokes.webhook import WebhookSpoke
from omniroute.spokes.webhook.spoke import envelope
from omniroute.testing.events import story
from omniroute.testing.server import serving
from omniroute.testing.spoke_contract import SpokeContract
from tests.doubles.amazon_connect.app import Config, Double, build_app, default_world
from tests.doubles.amazon_connect.world import STATUSES
from tests.doubles.twilio.app import create_app as create_flex_double
from tests.doubles.twilio.model import ACCOUNT_SID as FLEX_ACCOUNT
from tests.doubles.twilio.model import AUTH_TOKEN as FLEX_TOKEN
from tests.doubles.twilio.model import WORKFLOW_SID as FLEX_WORKFLOW
from tests.doubles.twilio.model import WORKSPACE_SID as FLEX_WORKSPACE
from tests.spokes.payloads import routing_events
from tests.spokes.receiver import Receiver, Reply, running

SECRET = "contract-secret-0123456789abcdefghijklmnopqrstuv"
CONNECT_INSTANCE = "11111111-2222-3333-4444-555555555555"
CONNECT_KEY = "AKIACONTRACTDOUBLE01"
FLEX_WORKER = "WK" + "1" * 32


def closed_port_url() -> str:
    """A loopback URL nothing listens on: a spoke that calls out early fails fast, locally."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class TestWebhookContract(SpokeContract):
    """The webhook spoke, delivering to a real HTTP receiver."""

    spoke_class = WebhookSpoke

    def settings(self) -> dict[str, Any]:
        """Settings whose set-up contacts nobody."""
        return {"url": f"{closed_port_url()}/hook", "secret": SECRET}

    @asynccontextmanager
    async def provider(self) -> AsyncIterator[dict[str, Any]]:
        """A receiver that takes every event."""
        receiver = Receiver()
        receiver.on("POST", "/hook", Reply(204))
        async with running(receiver) as rec:
            yield {"url": f"{rec.url}/hook", "secret": SECRET, "timeout_s": 5}
        assert rec.requests, "the webhook spoke delivered nothing"


class TestGenesysContract(SpokeContract):
    """The Genesys Cloud spoke (its deliveries are covered against its double in e2e)."""

    spoke_class = GenesysSpoke

    def settings(self) -> dict[str, Any]:
        """Settings pointing Genesys' API at a closed loopback port."""
        url = closed_port_url()
        return {
            "region": "mypurecloud.de",
            "client_id": "client",
            "client_secret": "client-secret",
            "integration_id": "integration-1",
            "inbound_secret": SECRET,
            "api_base_url": url,
            "login_base_url": url,
            "timeout_s": 2,
        }


class TestAmazonConnectContract(SpokeContract):
    """The Amazon Connect spoke, delivering to the Connect double (botocore's model)."""

    spoke_class = AmazonConnectSpoke

    def settings(self) -> dict[str, Any]:
        """Settings pointing the Connect API at a closed loopback port."""
        return {
            "region": "eu-west-2",
            "instance_id": CONNECT_INSTANCE,
            "task_flow_id": "flow-task",
            "queue_transfer_flow_id": "flow-queue",
            "agent_transfer_flow_id": "flow-agent",
            "relay_secret": SECRET,
            "endpoint_url": closed_port_url(),
            "max_attempts": 1,
        }

    def events(self) -> list[RoutingEvent]:
        """The story with the double's user, queues and agent status."""
        supports = self.spoke_class.manifest.supports
        return story(
            "contract",
            supports,
            agent=("alice", "u-alice"),
            queues=("q-general", "q-billing"),
            provider_state="Available",
        )

    @asynccontextmanager
    async def provider(self) -> AsyncIterator[dict[str, Any]]:
        """The Connect double on 127.0.0.1; afterwards the task contact must be ended."""
        config = Config(closed_port_url(), SECRET, CONNECT_KEY)
        app = build_app(config)
        double = Double(config, default_world())
        app.state.double = double
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AWS_ACCESS_KEY_ID", CONNECT_KEY)
            env.setenv("AWS_SECRET_ACCESS_KEY", "contract-secret-key")
            async with serving(app) as url:
                yield self.settings() | {"endpoint_url": url}
        (contact,) = double.world.contacts.values()
        assert contact.state == "ENDED"
        assert contact.attributes["omniroute_wrap_up_code_name"] == "Resolved"
        assert STATUSES[double.world.users["u-alice"].status_id] == "Available"


class TestTwilioFlexContract(SpokeContract):
    """The Twilio Flex spoke, delivering to the TaskRouter double."""

    spoke_class = TwilioFlexSpoke

    def settings(self) -> dict[str, Any]:
        """Settings pointing TaskRouter at a closed loopback port."""
        return {
            "account_sid": "AC" + "0" * 32,
            "auth_token": "contract-auth-token-0123456789",
            "workspace_sid": "WS" + "0" * 32,
            "workflow_sid": "WW" + "0" * 32,
            "callback_url": "https://omniroute.example.test/api/v1/spokes/flex/events",
            "taskrouter_base_url": closed_port_url(),
        }

    def events(self) -> list[RoutingEvent]:
        """The story with the double's worker, task queues and activity."""
        supports = self.spoke_class.manifest.supports
        return story(
            "contract",
            supports,
            agent=("alice", FLEX_WORKER),
            queues=("WQ" + "1" * 32, "WQ" + "2" * 32),
            provider_state="Available",
        )

    @asynccontextmanager
    async def provider(self) -> AsyncIterator[dict[str, Any]]:
        """The TaskRouter double on 127.0.0.1; afterwards no task of the chat is left open."""
        app = create_flex_double(f"{closed_port_url()}/callbacks", 30)
        async with serving(app) as url:
            yield {
                "account_sid": FLEX_ACCOUNT,
                "auth_token": FLEX_TOKEN,
                "workspace_sid": FLEX_WORKSPACE,
                "workflow_sid": FLEX_WORKFLOW,
                "callback_url": "https://omniroute.example.test/api/v1/spokes/flex/events",
                "taskrouter_base_url": url,
                "timeout_s": 5,
            }
            async with httpx.AsyncClient() as http:
                state = (await http.get(f"{url}/double/state")).json()
        tasks = [t for t in state["tasks"] if "kit-doc-1" in t["attributes"]]
        assert tasks
        assert {t["assignment_status"] for t in tasks} <= {"completed", "canceled"}
        (worker,) = [w for w in state["workers"] if w["sid"] == FLEX_WORKER]
        assert worker["activity_name"] == "Available"


def test_the_kits_sample_events_are_what_the_core_raises() -> None:
    raised = routing_events()
    sample = story("acme", frozenset(Capability))
    assert [e.type for e in sample] == [
        RoutingEventType.NEW_INTERACTION,
        RoutingEventType.OFFER_OUTCOME,
        RoutingEventType.TRANSFER_TO_QUEUE,
        RoutingEventType.CANCEL_TRANSFER,
        RoutingEventType.AGENT_PRESENCE,
        RoutingEventType.END_INTERACTION,
    ]
    for ev in sample:
        OUTGOING_EVENT.validate_python(envelope(ev), extra="forbid")
        assert set(ev.payload) == set(raised[ev.type].payload), ev.type
    assert story("acme", frozenset({Capability.PRESENCE_OUT}))[0].type == "agent_presence"
