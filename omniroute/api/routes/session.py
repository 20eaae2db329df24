"""Browser sign-in and sign-out; the session cookie authenticates the workspace's calls."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import Field

from omniroute.api.deps import CurrentWebSession
from omniroute.api.rate_limits import Door, client_address, limit
from omniroute.api.schemas import Body, Out
from omniroute.api.sessions import (
    COOKIE_NAME,
    CSRF_HEADER,
    SessionStore,
    WebSession,
    check_csrf,
)
from omniroute.config import Settings

router = APIRouter(tags=["session"])


class SignIn(Body):
    """An agent's email and password."""

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(Out):
    """Who is signed in, and the token to echo in X-CSRF-Token on every change."""

    agent_id: str
    name: str
    email: str
    supervisor: bool
    csrf_token: str
    expires_at: datetime


def session_out(web: WebSession) -> SessionOut:
    """The answer that names the signed-in agent and its CSRF token."""
    return SessionOut(
        agent_id=web.principal.agent_id or "",
        name=web.name,
        email=web.email,
        supervisor=web.principal.supervisor,
        csrf_token=web.csrf_token,
        expires_at=web.expires_at,
    )


@router.post(
    "/session",
    response_model=SessionOut,
    status_code=201,
    responses={
        401: {"description": "INVALID_CREDENTIALS: the email or the password is wrong"},
        429: {"description": "TOO_MANY_ATTEMPTS: too many failed sign-ins; wait and retry"},
    },
)
async def sign_in(body: SignIn, request: Request, response: Response) -> SessionOut:
    """Sign in with email and password; sets the HttpOnly session cookie."""
    await limit(request, Door.SIGN_IN)
    store: SessionStore = request.app.state.sessions
    settings: Settings = request.app.state.settings
    token, web = await store.sign_in(
        body.email, body.password, request.headers.get("user-agent", ""), client_address(request)
    )
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure or request.url.scheme == "https",
        path="/",
    )
    return session_out(web)


@router.get("/session", response_model=SessionOut)
async def current_session(web: CurrentWebSession) -> SessionOut:
    """The signed-in agent and the session's CSRF token."""
    return session_out(web)


@router.delete("/session", status_code=204)
async def sign_out(request: Request, web: CurrentWebSession, response: Response) -> Response:
    """End the session (the CSRF token must be echoed) and clear the cookie."""
    check_csrf(web, request.method, request.headers.get(CSRF_HEADER))
    store: SessionStore = request.app.state.sessions
    await store.sign_out(request.cookies.get(COOKIE_NAME, ""))
    response.delete_cookie(COOKIE_NAME, path="/")
    response.status_code = 204
    return response
