"""The webhook spoke's documentation: its worked example is right and it links every schema."""

from __future__ import annotations

import re
from pathlib import Path

from omniroute.spokes import signing
from omniroute.spokes.events_schema import json_schemas

DOC = Path(__file__).resolve().parents[2] / "docs" / "spokes" / "webhook.md"
EXAMPLE_SECRET = "whsec-example-0123456789abcdefghijklmn"
EXAMPLE_TIMESTAMP = 1772443800
EXAMPLE_BODY = (
    b'{"schema_version":1,"id":"in-1","type":"agent_presence",'
    b'"data":{"provider_agent_id":"P-alice","state_name":"On Queue"}}'
)


def test_the_worked_example_matches_omniroutes_signing() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert EXAMPLE_BODY.decode() in text
    for body in (EXAMPLE_BODY, b""):
        headers = signing.sign(EXAMPLE_SECRET, body, now=EXAMPLE_TIMESTAMP)
        assert headers[signing.SIGNATURE_HEADER] in text


def test_the_python_example_runs() -> None:
    text = DOC.read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    verify = namespace["verify"]
    sign = namespace["sign"]
    assert callable(verify)
    assert callable(sign)
    verify(EXAMPLE_SECRET, sign(EXAMPLE_SECRET, EXAMPLE_BODY), EXAMPLE_BODY)
    signing.verify(EXAMPLE_SECRET, sign(EXAMPLE_SECRET, EXAMPLE_BODY), EXAMPLE_BODY)


def test_every_schema_file_is_linked() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in json_schemas():
        assert f"(schema/v1/{name}.json)" in text
