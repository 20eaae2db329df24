"""The chat widget's words in the customer's language: one catalogue per language."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from omniroute.api.assets import WEB_ROOT
from omniroute.api.schemas import Out

router = APIRouter(tags=["chat"])
LOCALES = WEB_ROOT / "widget" / "locales"
DEFAULT = "en"
MAX_LANGUAGES = 20
CACHE = "public, max-age=3600"


@cache
def catalogues(folder: Path = LOCALES) -> dict[str, dict[str, str]]:
    """Every language's catalogue, by language code (English is complete)."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


def pick(preferred: list[str]) -> str:
    """The first language the customer prefers that has a catalogue, else English."""
    known = catalogues()
    for tag in preferred[:MAX_LANGUAGES]:
        code = tag.split(";")[0].strip().lower()
        for candidate in (code, code.split("-")[0]):
            if candidate in known:
                return candidate
    return DEFAULT


class WidgetTextsOut(Out):
    """The language chosen and its words (missing words filled in from English)."""

    language: str
    texts: dict[str, str] = Field(description="catalogue key to text; {name} marks a value")


@router.get("/chat/texts", response_model=WidgetTextsOut)
async def widget_texts(
    request: Request,
    response: Response,
    languages: str | None = Query(
        None, max_length=500, description="the customer's languages, most preferred first"
    ),
) -> WidgetTextsOut:
    """The widget's words for the customer's languages (or Accept-Language); public."""
    raw = languages if languages is not None else request.headers.get("accept-language", "")
    language = pick([x for x in raw.split(",") if x.strip()])
    response.headers["Cache-Control"] = CACHE
    known = catalogues()
    return WidgetTextsOut(language=language, texts=known[DEFAULT] | known[language])
