"""The import boundaries the design rests on, read from the source (AST), not from docs."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "omniroute"
# What `domain/` may use besides the standard library: plain data structures, no framework.
DOMAIN_LIBRARIES = {"sortedcontainers"}
# The engine is the loop plus persistence: of the core it knows the door and the state only.
ENGINE_MAY_IMPORT = {
    "omniroute.core.door",
    "omniroute.core.state",
    "omniroute.core.committed",
    "omniroute.core.guard",
    "omniroute.core.rows",
    "omniroute.core.timers",
}
# The wire codec decodes every registered message, so it loads the vocabulary.
CODEC = ROOT / "engine" / "codec.py"
# Outside the core and the engine: nobody touches the live state or the batch.
OUTSIDE = ["api", "channels", "spokes", "services", "sim", "cli.py", "demo.py"]
PRIVATE_NAMES = {"Tx", "EngineState"}
PRIVATE_MODULES = {"omniroute.core.handlers", "omniroute.core.guard"}


def modules(*parts: str) -> Iterator[Path]:
    for part in parts:
        path = ROOT / part
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def imports(path: Path) -> Iterator[tuple[str, set[str], int]]:
    """(module, imported names, line) of every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, set(), node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = {a.name for a in node.names}
            yield node.module, names, node.lineno
            for name in names:
                # `from omniroute.core import handlers` imports a module too.
                yield f"{node.module}.{name}", set(), node.lineno


def allowed_in_engine(module: str) -> bool:
    return any(module == m or module.startswith(f"{m}.") for m in ENGINE_MAY_IMPORT)


def top(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def is_stdlib(module: str) -> bool:
    return top(module) in sys.stdlib_module_names or top(module) == "__future__"


def test_domain_imports_no_framework() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules("domain")
        for module, _, line in imports(path)
        if not is_stdlib(module)
        and not module.startswith("omniroute.domain")
        and top(module) not in DOMAIN_LIBRARIES
        and module != "omniroute.domain"
    ]
    assert not bad, bad


def test_core_imports_only_domain_and_the_standard_library() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules("core")
        for module, _, line in imports(path)
        if not is_stdlib(module)
        and not module.startswith(("omniroute.core", "omniroute.domain"))
        and module not in {"omniroute.core", "omniroute.domain"}
    ]
    assert not bad, bad


def test_the_engine_imports_no_use_case() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules("engine")
        if path != CODEC
        for module, _, line in imports(path)
        if module.startswith("omniroute.core.") and not allowed_in_engine(module)
    ]
    assert not bad, bad
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules("engine")
        for module, _, line in imports(path)
        if module.startswith(("omniroute.services", "omniroute.api", "omniroute.channels"))
    ]
    assert not bad, bad


@pytest.mark.parametrize("part", OUTSIDE)
def test_outside_the_core_nobody_touches_engine_state(part: str) -> None:
    bad: list[str] = []
    for path in modules(part):
        where = path.relative_to(ROOT)
        for module, names, line in imports(path):
            if module in PRIVATE_MODULES or (
                module.startswith("omniroute.core") and names & PRIVATE_NAMES
            ):
                bad.append(f"{where}:{line} imports {module} {sorted(names)}")
        for node in ast.walk(ast.parse(path.read_text())):
            # `engine.state`, `self._engine.state`: the live state is the engine's alone.
            if isinstance(node, ast.Attribute) and node.attr == "state":
                owner = node.value
                name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                if name.lstrip("_") == "engine":
                    bad.append(f"{where}:{node.lineno} reads the engine's state")
            # A function taking the batch (`tx`) outside the core is a closure over engine state.
            if isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
                params = [a.arg for a in node.args.args]
                if "tx" in params:
                    bad.append(f"{where}:{node.lineno} defines a function of the batch (tx)")
    assert not bad, bad
