"""Imports point down only (ARCHITECTURE.md): each layer may import the ones listed here and
nothing above it, and the lower layers use no web or GraphQL framework.

Every `import` in a module counts, those inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The project's layers, and which of the others each may import.
MAY_IMPORT: dict[str, set[str]] = {
    "settings": set(),
    "domain": set(),
    "telemetry": {"settings"},
    "db": {"domain", "settings", "telemetry"},
    "auth": {"domain", "db", "settings", "telemetry"},
    "resolvers": {"domain", "db", "auth", "settings", "telemetry"},
    "web": {"domain", "db", "auth", "resolvers", "settings", "telemetry"},
    "schema": {"domain", "db", "auth", "resolvers", "web", "settings", "telemetry"},
    "rest": {"domain", "db", "auth", "resolvers", "web", "settings", "telemetry"},
    "migrations": {"domain", "db", "settings", "telemetry"},
    "server": {
        "domain",
        "db",
        "auth",
        "resolvers",
        "web",
        "schema",
        "rest",
        "settings",
        "telemetry",
    },
}
FRAMEWORKS = {"strawberry", "graphql", "starlette", "uvicorn", "httpx", "pydantic"}
FRAMEWORK_FREE = {"settings", "domain", "telemetry", "db", "auth", "resolvers"}


def _modules(layer: str) -> list[Path]:
    single = ROOT / f"{layer}.py"
    return [single] if single.exists() else sorted((ROOT / layer).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    """The top-level names of every package this module imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    allowed = MAY_IMPORT[layer] | {layer}
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(layer)
        for name in _imported(path) & set(MAY_IMPORT)
        if name not in allowed
    }
    assert not wrong, sorted(wrong)


@pytest.mark.parametrize("layer", sorted(FRAMEWORK_FREE))
def test_the_lower_layers_use_no_web_or_graphql_framework(layer: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(layer)
        for name in _imported(path) & FRAMEWORKS
    }
    assert not wrong, sorted(wrong)


def test_every_top_level_package_has_a_rule() -> None:
    packages = {
        path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name != "tests"
    }
    modules = {path.stem for path in ROOT.glob("*.py")}
    assert packages | modules <= set(MAY_IMPORT) | {"bench"}


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_the_domain_takes_its_database_session_by_keyword() -> None:
    """One rule for the domain (ARCHITECTURE.md): a `resolvers/` function that uses the
    database takes its session as the keyword-only argument `db`."""
    positional = [
        f"{path.relative_to(ROOT)}:{function.name}"
        for path in sorted((ROOT / "resolvers").glob("*.py"))
        for function in _functions(path)
        if any(arg.arg == "db" for arg in function.args.posonlyargs + function.args.args)
    ]
    assert positional == []
