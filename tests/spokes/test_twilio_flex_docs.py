"""The Twilio Flex page documents every setting and every routing event the spoke handles."""

from __future__ import annotations

from pathlib import Path

from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes.twilio_flex import TwilioFlexSettings, TwilioFlexSpoke

DOCS = Path(__file__).resolve().parents[2] / "docs" / "spokes"


def test_every_setting_and_event_is_documented() -> None:
    text = (DOCS / "twilio-flex.md").read_text(encoding="utf-8")
    for name in TwilioFlexSettings.model_fields:
        assert f"| `{name}` |" in text, name
    for kind in RoutingEventType:
        assert f"`{kind.value}`" in text, kind


def test_linked_from_the_spokes_index() -> None:
    assert TwilioFlexSpoke.manifest.documentation == "docs/spokes/twilio-flex.md"
    assert "(twilio-flex.md)" in (DOCS / "README.md").read_text(encoding="utf-8")
