"""The core's one door: typed commands and queries, and the registry of their handlers.

A command changes routing state; a query only reads it. Both are frozen dataclasses with a
stable `name` (the wire name used to send them to another node), typed by their result:
`class AcceptOffer(Command[OfferView])`. A handler is registered once per message type with
`@handles(AcceptOffer)` and runs inside the engine's batch with the batch's `Tx`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_args, get_origin

from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.values import unstorable

if TYPE_CHECKING:
    from omniroute.core.state import Tx

R = TypeVar("R")
M = TypeVar("M", bound="Message[Any]")


@dataclass(frozen=True, slots=True)
class Message(Generic[R]):
    """A value handed to the engine; `name` is its stable wire name (the class name by default)."""

    name: ClassVar[str] = ""
    # Whether the message may change state (commands) or only reads it (queries).
    mutates: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super(Message, cls).__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__


@dataclass(frozen=True, slots=True)
class Command(Message[R]):
    """A change of routing state, answered with its result once the change is committed."""


@dataclass(frozen=True, slots=True)
class Query(Message[R]):
    """A read of the live routing state as of the last commit."""

    mutates: ClassVar[bool] = False


Handler = Callable[["Tx", Any], Any]
_HANDLERS: dict[type[Message[Any]], Handler] = {}
_BY_NAME: dict[str, type[Message[Any]]] = {}


def handles(kind: type[M]) -> Callable[[Callable[[Tx, M], R]], Callable[[Tx, M], R]]:
    """Register the decorated function as the one handler of a command or query type."""

    def register(fn: Callable[[Tx, M], R]) -> Callable[[Tx, M], R]:
        other = _BY_NAME.get(kind.name)
        if other is not None and other is not kind:
            msg = f"message name {kind.name!r} is used by {other.__qualname__} already"
            raise TypeError(msg)
        if kind in _HANDLERS:
            msg = f"{kind.__qualname__} has a handler already"
            raise TypeError(msg)
        _HANDLERS[kind] = fn
        _BY_NAME[kind.name] = kind
        return fn

    return register


def dispatch(tx: Tx, message: Message[R]) -> R:
    """Run a message's handler inside the batch, once its values are ones the store can hold."""
    handler = _HANDLERS.get(type(message))
    if handler is None:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR, f"no handler is registered for {message.name!r}"
        )
    found = unstorable(message)
    if found is not None:
        where, problem = found
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{where}: {problem}", where)
    result: R = handler(tx, message)
    return result


def message_type(name: str) -> type[Message[Any]]:
    """The registered message type with this wire name."""
    kind = _BY_NAME.get(name)
    if kind is None:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"unknown command or query {name!r}", "name")
    return kind


def registered() -> dict[str, type[Message[Any]]]:
    """Every registered message type by wire name."""
    return dict(_BY_NAME)


def result_type(kind: type[Message[Any]]) -> Any:
    """The `R` of `Command[R]` or `Query[R]` a message type was declared with."""
    if kind not in _RESULT_TYPES:
        _RESULT_TYPES[kind] = _declared_result(kind)
    return _RESULT_TYPES[kind]


_RESULT_TYPES: dict[type[Message[Any]], Any] = {}


def _declared_result(kind: type[Message[Any]]) -> Any:
    for klass in kind.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Message):
                args = get_args(base)
                if args and not isinstance(args[0], TypeVar):
                    return args[0]
    msg = f"{kind.__qualname__} does not say its result type"
    raise TypeError(msg)


# Timer kinds are dispatched the same way: the core registers one handler per kind.
TimerHandler = Callable[["Tx", str], None]
_TIMERS: dict[str, TimerHandler] = {}


def on_timer(kind: str) -> Callable[[TimerHandler], TimerHandler]:
    """Register the handler of one timer kind."""

    def register(fn: TimerHandler) -> TimerHandler:
        if kind in _TIMERS:
            msg = f"timer kind {kind!r} has a handler already"
            raise TypeError(msg)
        _TIMERS[kind] = fn
        return fn

    return register


def fire_timer(tx: Tx, kind: str, target_id: str) -> None:
    """Run the handler of a timer that fell due."""
    _TIMERS[kind](tx, target_id)


# After a batch's commands the core settles the state (the routing pass) in one registered step.
_SETTLE: list[Callable[[Tx], None]] = []


def settles(fn: Callable[[Tx], None]) -> Callable[[Tx], None]:
    """Register the step that runs after every batch's commands, before the commit."""
    _SETTLE.append(fn)
    return fn


def settle(tx: Tx) -> None:
    """Run the registered settling steps."""
    for fn in _SETTLE:
        fn(tx)
