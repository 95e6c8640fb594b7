"""The connection pool, measured: connections in use, requests waiting, waits that timed out."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from telemetry.metrics import DB_POOL_IN_USE, DB_POOL_TIMEOUTS, DB_POOL_WAITING, labelled


class MeteredPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's pool for asyncio engines, recording its use under the label `name`."""

    name = "main"

    def _do_get(self) -> Any:
        waiting = labelled(DB_POOL_WAITING, self.name)
        waiting.inc()
        try:
            record = super()._do_get()
        except PoolTimeoutError:
            labelled(DB_POOL_TIMEOUTS, self.name).inc()
            raise
        finally:
            waiting.dec()
        labelled(DB_POOL_IN_USE, self.name).set(self.checkedout())
        return record

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        super()._do_return_conn(record)
        labelled(DB_POOL_IN_USE, self.name).set(self.checkedout())


_POOLS: dict[str, type[MeteredPool]] = {}


def metered_pool(name: str) -> type[MeteredPool]:
    """The pool class whose metrics carry the label `name` (one class per name)."""
    if name not in _POOLS:
        # Logging under SQLAlchemy's pool loggers, which are quiet unless asked (`echo_pool`).
        attributes = {"name": name, "__module__": AsyncAdaptedQueuePool.__module__}
        _POOLS[name] = type(f"MeteredPool_{name}", (MeteredPool,), attributes)
    return _POOLS[name]
