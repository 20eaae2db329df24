"""The words catalogues: every key the workspace and widget use exists in English, and every
widget language has the same keys as English."""

from __future__ import annotations

import json
import re
from pathlib import Path

from omniroute.api.assets import WEB_ROOT
from omniroute.api.routes.widget_texts import catalogues, pick

WORKSPACE = WEB_ROOT / "workspace"
WIDGET = WEB_ROOT / "widget"
USED = re.compile(r"""\bt[n]?\(\s*"([a-z_.\-]+)"|\btr\(\s*"([a-z_.\-]+)\"""")
DYNAMIC = re.compile(r"""\bt[n]?\(\s*`([a-z_.\-]+)\.\$\{""")


def english_workspace() -> set[str]:
    text = (WORKSPACE / "locales" / "en.js").read_text(encoding="utf-8")
    return set(re.findall(r'^\s*"([^"]+)":', text, re.MULTILINE))


def used_keys(paths: list[Path]) -> tuple[set[str], set[str]]:
    fixed: set[str] = set()
    prefixes: set[str] = set()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        fixed |= {a or b for a, b in USED.findall(text)}
        prefixes |= set(DYNAMIC.findall(text))
    return fixed, prefixes


def test_every_workspace_key_is_in_the_english_catalogue() -> None:
    english = english_workspace()
    fixed, prefixes = used_keys(sorted(WORKSPACE.glob("*.js")))
    plural = {k.rsplit(".", 1)[0] for k in english if k.endswith((".one", ".other"))}
    assert fixed - english - plural == set()
    for prefix in prefixes:
        assert any(k.startswith(f"{prefix}.") for k in english), prefix
    assert len(english) > 250


def test_every_widget_language_has_every_english_key() -> None:
    known = catalogues()
    assert {"en", "fr", "de", "es"} <= set(known)
    for language, texts in known.items():
        assert set(texts) == set(known["en"]), language
        assert all(isinstance(v, str) and v.strip() for v in texts.values()), language
    fixed, _ = used_keys([WIDGET / "omniroute-chat.js"])
    assert fixed - set(known["en"]) == set()
    placeholders = {k: set(re.findall(r"\{\w+\}", v)) for k, v in known["en"].items()}
    for language, texts in known.items():
        for key, text in texts.items():
            assert set(re.findall(r"\{\w+\}", text)) == placeholders[key], (language, key)


def test_the_customers_first_known_language_is_picked() -> None:
    assert pick(["pt-BR", "fr-CA", "en"]) == "fr"
    assert pick(["de-AT;q=0.9"]) == "de"
    assert pick(["ja", "ko"]) == "en"
    assert pick([]) == "en"
    assert json.loads((WIDGET / "locales" / "en.json").read_text())["send"] == "Send"
