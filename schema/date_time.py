"""`DateTime`: Strawberry's own scalar (ISO 8601 text, always with an offset here, in UTC)
with a link to the specification it follows, so that clients and code generators know it."""

from __future__ import annotations

import dataclasses

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

# RFC 3339's date-time profile of ISO 8601, with a required offset, as a GraphQL scalar.
DATE_TIME_SPEC = "https://scalars.graphql.org/andimarek/date-time"

DATE_TIME: ScalarDefinition = dataclasses.replace(
    DateTimeDefinition,
    description="A point in time: an RFC 3339 date-time with its offset, such as "
    '"2026-12-01T09:30:00.123456+00:00"; the server answers in UTC.',
    specified_by_url=DATE_TIME_SPEC,
)
