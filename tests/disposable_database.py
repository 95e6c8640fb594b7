"""A PostgreSQL server of a test's own, which the test may stop, freeze and restart."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from db import migrate
from db.embedded import embedded_url, start_embedded, stop_embedded

DATABASE = "orderly"


class DisposableDatabase:
    """An embedded PostgreSQL in `folder`, migrated, answering on a fixed socket."""

    def __init__(self, folder: Path) -> None:
        self._server: Any = start_embedded(folder / "pgdata", database=DATABASE, delete=True)
        self.url = embedded_url(self._server, DATABASE)
        migrate.upgrade(self.url)

    def _processes(self) -> list[psutil.Process]:
        """The postmaster and every backend it forked."""
        postmaster = psutil.Process(self._server.get_pid())
        return [postmaster, *postmaster.children(recursive=True)]

    def stop(self) -> None:
        """A fast shutdown, as an operator's restart does: sessions are ended, then it exits."""
        postmaster = psutil.Process(self._server.get_pid())
        postmaster.send_signal(signal.SIGINT)
        postmaster.wait(30)

    def start(self) -> None:
        try:
            self._server.ensure_postgres_running()
        except Exception as error:
            raise AssertionError(f"PostgreSQL did not start:\n{self._log()}") from error

    def _log(self) -> str:
        return Path(self._server.log).read_text()[-3000:]

    def freeze(self) -> None:
        """Every PostgreSQL process stops running but keeps its sockets open."""
        for process in self._processes():
            process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for process in self._processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.thaw()
        stop_embedded(self._server)


@contextlib.contextmanager
def disposable_database(folder: Path) -> Iterator[DisposableDatabase]:
    database = DisposableDatabase(folder)
    try:
        yield database
    finally:
        database.close()


def wait_until(check: Any, *, timeout: float, what: str) -> float:
    """Poll `check()` until it is true; the seconds that took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)
    return time.monotonic() - started
