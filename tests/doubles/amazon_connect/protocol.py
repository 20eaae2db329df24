"""Connect's REST-JSON protocol from botocore's own service model: requests parsed and checked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import botocore.session
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

LABEL = re.compile(r"\{([^}+]+)(\+?)\}")


class ProtocolError(Exception):
    """A request Connect itself would refuse; `code` is Connect's error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Route:
    """One operation's HTTP method and path pattern."""

    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    literal_chars: int


def _route(operation: OperationModel) -> Route:
    uri = operation.http["requestUri"].split("?", 1)[0]
    parts: list[str] = []
    last = 0
    for match in LABEL.finditer(uri):
        parts.append(re.escape(uri[last : match.start()]))
        greedy = match.group(2) == "+"
        parts.append(f"(?P<{match.group(1)}>{'.+' if greedy else '[^/]+'})")
        last = match.end()
    parts.append(re.escape(uri[last:]))
    literal = len(LABEL.sub("", uri))
    return Route(operation, operation.http["method"], re.compile("".join(parts) + "$"), literal)


class ConnectProtocol:
    """Finds the operation of a request, builds its parameters, validates both directions."""

    def __init__(self) -> None:
        self.model = botocore.session.get_session().get_service_model("connect")
        self.routes = sorted(
            (_route(self.model.operation_model(n)) for n in self.model.operation_names),
            key=lambda r: -r.literal_chars,
        )
        self.validator = ParamValidator()

    def match(self, method: str, path: str) -> tuple[OperationModel, dict[str, str]]:
        """The operation a request is for and its path labels."""
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route.operation, {k: unquote(v) for k, v in found.groupdict().items()}
        raise ProtocolError("UnknownOperationException", f"no operation for {method} {path}", 404)

    def params(
        self,
        operation: OperationModel,
        labels: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> dict[str, Any]:
        """The request's parameters by member name, validated against the input shape."""
        shape = operation.input_shape
        params: dict[str, Any] = {}
        payload: dict[str, Any] = {}
        if body:
            try:
                payload = json.loads(body)
            except ValueError as err:
                raise ProtocolError("SerializationException", f"body is not JSON: {err}") from err
        if shape is not None:
            for name, member in shape.members.items():
                where = member.serialization.get("location")
                key = member.serialization.get("name", name)
                if where == "uri" and key in labels:
                    params[name] = labels[key]
                elif where == "querystring" and key in query:
                    params[name] = _from_query(member, query[key])
                elif where is None and name in payload:
                    params[name] = payload.pop(name)
        if payload:
            unknown = ", ".join(sorted(payload))
            raise ProtocolError("SerializationException", f"unknown body members: {unknown}")
        if shape is not None:
            report = self.validator.validate(params, shape)
            if report.has_errors():
                raise ProtocolError("InvalidParameterException", report.generate_report())
            _check_maxima(params, shape, "input")
        return params

    def output(self, operation: OperationModel, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer, checked against the operation's output shape."""
        shape = operation.output_shape
        if shape is None:
            return {}
        report = self.validator.validate(answer, shape)
        if report.has_errors():
            msg = (
                f"the double's {operation.name} answer breaks the model: {report.generate_report()}"
            )
            raise AssertionError(msg)
        return answer


def _from_query(member: Shape, values: list[str]) -> Any:
    if member.type_name == "list":
        return values
    if member.type_name == "integer":
        return int(values[-1])
    if member.type_name == "boolean":
        return values[-1] == "true"
    return values[-1]


def _check_maxima(value: Any, shape: Shape, where: str) -> None:
    """The service's maximum lengths, which botocore's client-side validation leaves out."""
    limit = shape.metadata.get("max")
    if limit is not None and isinstance(value, str | list | dict) and len(value) > limit:
        msg = f"{where}: length {len(value)} is over the maximum {limit}"
        raise ProtocolError("InvalidParameterException", msg)
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            if name in value:
                _check_maxima(value[name], member, f"{where}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for n, item in enumerate(value):
            _check_maxima(item, shape.member, f"{where}[{n}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            _check_maxima(key, shape.key, f"{where} key")  # type: ignore[attr-defined]
            _check_maxima(item, shape.value, f"{where}.{key}")  # type: ignore[attr-defined]
