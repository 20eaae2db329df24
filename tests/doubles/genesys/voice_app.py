"""The double's call and callback endpoints: the Platform API's paths and the test controls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.doubles.genesys.voice import Voice

Reply = Callable[[str, Any], Response]
Error = Callable[[int, str, str], Response]
MODELS = {"calls": "CallConversation", "callbacks": "CallbackConversation"}


def mount(app: FastAPI, voice: Voice, reply: Reply, error: Error) -> None:
    """Add the call and callback paths to the double's app."""
    org = voice.org

    def missing(what: str, some_id: str) -> Response:
        return error(404, "not.found", f"{what} {some_id} not found")

    @app.post("/api/v2/conversations/callbacks")
    async def create_callback(request: Request) -> Response:
        body = await request.json()
        if not body.get("queueId") or not body.get("callbackNumbers"):
            return error(400, "bad.request", "queueId and callbackNumbers are required")
        return reply("CreateCallbackResponse", voice.create_callback(body))

    @app.get("/api/v2/conversations/{media}/{conversation_id}")
    async def conversation(media: str, conversation_id: str) -> Response:
        if media not in MODELS or voice.legs(conversation_id, media) is None:
            return missing("conversation", conversation_id)
        return reply(MODELS[media], voice.view(conversation_id, media))

    @app.patch("/api/v2/conversations/{media}/{conversation_id}/participants/{participant_id}")
    async def patch(
        media: str, conversation_id: str, participant_id: str, request: Request
    ) -> Response:
        legs = voice.legs(conversation_id, media) if media in MODELS else None
        leg = next((p for p in legs or [] if p["id"] == participant_id), None)
        if leg is None:
            return missing("participant", participant_id)
        voice.patch(conversation_id, leg, await request.json())
        return Response(status_code=202)

    @app.post("/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}/replace")
    async def replace(conversation_id: str, participant_id: str, request: Request) -> Response:
        legs = voice.legs(conversation_id, "calls")
        leg = next((p for p in legs or [] if p["id"] == participant_id), None)
        if leg is None or leg["state"] != "connected":
            return error(400, "bad.request", f"participant {participant_id} is not connected")
        voice.replace(conversation_id, leg, await request.json())
        return Response(status_code=202)

    @app.post("/api/v2/conversations/calls/{conversation_id}")
    async def place_call(conversation_id: str, request: Request) -> Response:
        number = str((await request.json())["callNumber"])
        if not voice.place_call(conversation_id, number):
            return error(400, "bad.request", f"{conversation_id} is no accepted callback")
        view = {"id": conversation_id, "selfUri": f"/api/v2/conversations/{conversation_id}"}
        return reply("Conversation", view)

    # -- test controls -----------------------------------------------------------------

    @app.post("/double/calls")
    async def incoming(request: Request) -> dict[str, str]:
        """A customer calls the queue's number: `{"ani": "+44...", "queue_id": "gc-queue-..."}`."""
        body = await request.json()
        return await voice.incoming(app.state.http, str(body["ani"]), str(body["queue_id"]))

    @app.post("/double/calls/{conversation_id}/transfer")
    async def transfer_in_genesys(conversation_id: str, request: Request) -> Response:
        """The connected agent transfers the call to a user from the Genesys client."""
        legs = voice.legs(conversation_id, "calls") or []
        holder = next(
            (p for p in legs if p["purpose"] == "agent" and p["state"] == "connected"), None
        )
        if holder is None:
            return error(400, "bad.request", "no agent is connected to the call")
        org.replace(conversation_id, holder, {"userId": (await request.json())["user_id"]})
        return Response(status_code=202)

    @app.post("/double/numbers/unanswered")
    async def unanswered(request: Request) -> dict[str, Any]:
        """The next `count` calls placed to `number` ring out unanswered."""
        body = await request.json()
        voice.unanswered[str(body["number"])] = int(body["count"])
        return {"ok": True}
