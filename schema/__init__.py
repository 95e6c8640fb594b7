"""The Strawberry schema: types, inputs, directives, and the view serving it."""

from schema.build import build_schema, sdl

__all__ = ["build_schema", "sdl"]
