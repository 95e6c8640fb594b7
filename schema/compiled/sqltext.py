"""The text of one statement and its parameters, `$1`, `$2`, ... in asyncpg's style.

The JSON-building bulk of a compiled read is written as text: column references of the
statement's own aliases and constants of the schema, never a user value. Every value goes
through `bind`. Row sources are SQLAlchemy selects made by the resolvers; `embed` compiles
each shape once (keyed by SQLAlchemy's own cache key, the key of its compiled cache) and
takes the values of each new select in the order the compiled text expects them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.dialects.postgresql import asyncpg

from schema.compiled.plan import Unsupported

_DIALECT = asyncpg.dialect()  # type: ignore[no-untyped-call]
_PLACEHOLDER = re.compile(r"\$(\d+)")
_CACHE_SIZE = 1024
_compiled: OrderedDict[Any, tuple[str, tuple[int, ...]]] = OrderedDict()


class Statement:
    """SQL text being written, with the values of its placeholders."""

    def __init__(self) -> None:
        self.params: list[Any] = []
        self._names = 0

    def bind(self, value: Any) -> Placeholder:
        """A placeholder for `value`; it takes its number when first written into the text,
        so that a value no text refers to is never sent (PostgreSQL could not type it)."""
        return Placeholder(self, value)

    def _number(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def name(self) -> str:
        """A fresh alias for a table or subquery of this statement."""
        self._names += 1
        return f"t{self._names}"

    def embed(self, select: Select[Any]) -> str:
        """`select` as SQL text whose placeholders continue this statement's numbering."""
        key = select._generate_cache_key()
        if key is None:
            raise Unsupported("a select SQLAlchemy cannot cache")
        cached = _compiled.get(key.key)
        if cached is None:
            cached = _compile(select, key.bindparams)
            _compiled[key.key] = cached
            if len(_compiled) > _CACHE_SIZE:
                _compiled.popitem(last=False)
        else:
            _compiled.move_to_end(key.key)
        text, order = cached
        offset = len(self.params)
        self.params += [key.bindparams[index].effective_value for index in order]
        return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", text)


class Placeholder:
    """`$n` of one value of a statement, numbered on first use."""

    __slots__ = ("_statement", "_text", "_value")

    def __init__(self, statement: Statement, value: Any) -> None:
        self._statement = statement
        self._value = value
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = self._statement._number(self._value)
        return self._text

    def __format__(self, spec: str) -> str:
        return str(self)


def _compile(select: Select[Any], binds: Sequence[Any]) -> tuple[str, tuple[int, ...]]:
    compiled = select.compile(dialect=_DIALECT)
    if "__[POSTCOMPILE_" in compiled.string:  # a list expanded into one parameter per item
        raise Unsupported("a select whose text depends on the length of a list")
    index = {bind.key: position for position, bind in enumerate(binds)}
    positions = compiled.positiontup or []
    order = tuple(index[compiled.binds[name].key] for name in positions)
    return compiled.string, order
