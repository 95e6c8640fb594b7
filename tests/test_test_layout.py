"""The tests' own layout: fixtures live in conftests only, and the shared steps in
tests/helpers.py, not in per-suite support modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FIXTURE_MODULES = {"pytest", "pytest_asyncio"}


def fixture_lines(source: str) -> list[int]:
    """The lines of a module that declare a pytest fixture: `pytest.fixture` or
    `pytest_asyncio.fixture` used in any form, or `fixture` imported from either."""
    found: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in FIXTURE_MODULES:
            found += [node.lineno for alias in node.names if alias.name == "fixture"]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "fixture"
            and isinstance(node.value, ast.Name)
            and node.value.id in FIXTURE_MODULES
        ):
            found.append(node.lineno)
    return found


@pytest.mark.parametrize(
    "source",
    [
        "@pytest.fixture\ndef f(): ...",
        "@pytest.fixture(scope='module')\ndef f(): ...",
        "@pytest_asyncio.fixture\nasync def f(): ...",
        "class T:\n    @pytest.fixture\n    def f(self): ...",
        "from pytest import fixture",
        "f = pytest.fixture(lambda: 1)",
    ],
)
def test_the_check_finds_a_fixture_however_declared(source: str) -> None:
    assert fixture_lines(source)


def test_the_check_ignores_other_decorators() -> None:
    assert fixture_lines("@pytest.mark.slow\ndef test_f(fixture): ...") == []


def test_test_modules_declare_no_fixtures() -> None:
    """A fixture goes into the conftest of its directory (tests/conftest.py for the modules
    at the top)."""
    declared = [
        f"{path.relative_to(TESTS)}:{line}"
        for path in sorted(TESTS.rglob("test_*.py"))
        for line in fixture_lines(path.read_text())
    ]
    assert declared == []


def test_there_is_one_helper_module() -> None:
    """Steps shared by tests go into tests/helpers.py, under one name each."""
    assert sorted(str(p.relative_to(TESTS)) for p in TESTS.rglob("support.py")) == []
