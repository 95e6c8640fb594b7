"""Per-request dataloaders: every relation of the graph is resolved in batches.

Each batch opens its own short session, because sibling fields resolve concurrently and a
session must not be shared between tasks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.models import OrderEvent, Payment, User
from resolvers.orders import Line, events_by_order_ids, lines_by_order_ids
from resolvers.payments import payments_by_order_ids
from resolvers.users import users_by_ids

K = TypeVar("K", contravariant=True)
V = TypeVar("V", covariant=True)


class Batch(Protocol[K, V]):
    """A resolvers function answering many keys at once: `batch(keys, db=...)`."""

    def __call__(self, ids: Sequence[K], /, *, db: AsyncSession) -> Awaitable[Sequence[V]]: ...


def _loader(sessions: async_sessionmaker[AsyncSession], batch: Batch[K, V]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> Sequence[V]:
        async with sessions() as db:
            return await batch(keys, db=db)

    return DataLoader(load_fn=load)


@dataclass(frozen=True, slots=True)
class Loaders:
    user_by_id: DataLoader[int, User | None]
    lines_by_order_id: DataLoader[int, list[Line]]
    events_by_order_id: DataLoader[int, list[OrderEvent]]
    payment_by_order_id: DataLoader[int, Payment | None]

    @classmethod
    def create(cls, sessions: async_sessionmaker[AsyncSession]) -> Loaders:
        return cls(
            user_by_id=_loader(sessions, users_by_ids),
            lines_by_order_id=_loader(sessions, lines_by_order_ids),
            events_by_order_id=_loader(sessions, events_by_order_ids),
            payment_by_order_id=_loader(sessions, payments_by_order_ids),
        )
