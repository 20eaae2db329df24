"""The simulator's demo endpoint that starts a voice call or a callback."""

from __future__ import annotations

from importlib import resources
from typing import Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from omniroute.sim.calls import Call
from omniroute.sim.core import Platform

PANEL_HTML = (
    resources.files(__package__ or "omniroute.sim").joinpath("panel.html").read_text("utf-8")
)


class CallIn(BaseModel):
    """A customer's call: which Omniroute queue and channel it enters, and who calls."""

    model_config = ConfigDict(extra="forbid")

    queue_id: str = Field(min_length=1, description="the Omniroute queue (an external one)")
    kind: Literal["inbound", "callback"] = "inbound"
    channel_id: str | None = Field(None, description="default: voice, or callback for callbacks")
    customer_number: str = Field("+44 20 7946 0000", min_length=3, max_length=64)
    customer_name: str = Field("Sam Caller", max_length=200)
    answers: bool = Field(
        default=True, description="false: the callback's first dial is not answered"
    )


async def start_sim_call(platform: Platform, body: CallIn) -> JSONResponse:
    """Create the interaction in Omniroute and track its call; 502 if Omniroute refused."""
    channel = body.channel_id or ("callback" if body.kind == "callback" else "voice")
    subject = "Callback request" if body.kind == "callback" else "Phone call"
    result = await platform.client.create_interaction(
        {
            "channel_id": channel,
            "queue_id": body.queue_id,
            "customer_name": body.customer_name,
            "subject": f"{subject} from {body.customer_number}",
        }
    )
    if not result.ok:
        return JSONResponse({"error": result.body.get("error"), "status": result.status}, 502)
    interaction_id = str(result.body["id"])
    call = Call(interaction_id, body.kind, body.customer_number, answers=body.answers)
    platform.desk.add(call)
    platform.count(f"calls_{body.kind}")
    return JSONResponse({"interaction_id": interaction_id} | call.context(), 201)
