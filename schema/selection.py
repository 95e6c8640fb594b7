"""What a query asks for below a field, so relations can be loaded up front in batches."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar, cast

from strawberry.types import Info
from strawberry.types.nodes import Selection

T = TypeVar("T")


def selected_names(info: Info[Any, Any]) -> set[str]:
    """Every field name selected anywhere below the current field (fragments included)."""
    names: set[str] = set()
    _collect(info.selected_fields, names)
    return names


def _collect(selections: Iterable[Selection], names: set[str]) -> None:
    for selection in selections:
        name = getattr(selection, "name", None)
        if isinstance(name, str):
            names.add(name)
        _collect(selection.selections, names)


def deferred(awaitable: Awaitable[T]) -> T:
    """Let a plain resolver hand an awaitable to the executor, which awaits it.

    Fields fed from preloaded batches answer at once; only when nothing was preloaded do
    they fall back to a dataloader, without every call paying for a coroutine.
    """
    return cast(T, awaitable)
