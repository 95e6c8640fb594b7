"""Several uvicorn workers, each with its own SO_REUSEPORT listening socket.

With one shared socket, whichever worker wakes first accepts a whole burst of connections
and the others idle; with a socket per worker the kernel spreads connections evenly. The
sockets are created with IPPROTO_TCP so that accepted connections get TCP_NODELAY (a shared
socket made without it leaves every keep-alive response waiting on delayed ACKs).

A worker that dies is restarted while the others go on serving, after a pause that doubles
with each death in a row (0.5 s, 1 s, ... up to 10 s; back to 0.5 s once a worker has served
for 30 s). A worker counts as started when it tells the supervisor, through a pipe, that it
is listening. Only workers that die before that, five times in a row, stop the server: a
taken port or an application that cannot load is not fixed by restarting.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from telemetry.metrics import forget_worker

log = logging.getLogger("orderly.supervisor")
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 10.0
STEADY_AFTER = 30.0
START_ATTEMPTS = 5
TICK = 0.2
STARTUP_FAILURE = 3  # uvicorn's exit code for a server that could not start


class WorkerStartupError(RuntimeError):
    """Workers keep dying before they serve: restarting them would only loop."""


def listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


def _worker(
    host: str, port: int, options: dict[str, Any], drain: float, serving: Connection
) -> None:
    import uvicorn

    from web.draining import serve

    try:
        sock = listening_socket(host, port)
    except OSError as error:
        log.error("worker cannot listen on %s:%d: %s", host, port, error)
        sys.exit(STARTUP_FAILURE)

    def report_serving() -> None:
        serving.send_bytes(b"serving")
        serving.close()

    serve(uvicorn.Config(**options), drain=drain, sockets=[sock], on_serving=report_serving)


def supervise(
    host: str,
    port: int,
    workers: int,
    options: dict[str, Any],
    *,
    drain: float,
    metrics_dir: str | None = None,
) -> None:
    """Run `workers` processes until SIGINT or SIGTERM, restarting any that die.

    A stop signal is passed on to the workers as SIGTERM (each drains for `drain` seconds,
    then shuts down gracefully), again for every further signal. The handler stays installed
    afterwards, so a late signal changes nothing. Raises WorkerStartupError, once the
    workers have stopped, when they keep dying before they serve. With `metrics_dir`, the
    live gauges of a worker that died are dropped from the metrics.
    """
    _Supervisor(host, port, workers, options, drain, metrics_dir).run()


@dataclass(slots=True)
class _Slot:
    """One worker position and the process filling it, if any."""

    process: BaseProcess | None = None
    serving: Connection | None = None  # readable once the worker serves (or EOF if it died)
    served_at: float | None = None
    deaths: int = 0  # in a row: sets the pause before the restart
    failed_starts: int = 0  # deaths before serving, in a row
    restart_at: float = 0.0


class _Supervisor:
    def __init__(
        self,
        host: str,
        port: int,
        workers: int,
        options: dict[str, Any],
        drain: float,
        metrics_dir: str | None = None,
    ) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._worker_args = (host, port, options, drain)
        self._port = port
        self._slots = [_Slot() for _ in range(workers)]
        self._stopping = False
        self._told: set[int] = set()
        self._metrics_dir = metrics_dir

    def run(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)
        try:
            while not self._stopping:
                self._watch()
        finally:
            self._stopping = True
            self._tell_workers()
            for slot in self._slots:
                if slot.process is not None:
                    slot.process.join()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        again = self._stopping
        self._stopping = True
        self._tell_workers(again=again)

    def _tell_workers(self, *, again: bool = False) -> None:
        for slot in self._slots:
            process = slot.process
            if process is None or process.pid is None:
                continue
            if again or process.pid not in self._told:
                self._told.add(process.pid)
                process.terminate()

    def _watch(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            if slot.process is None and now >= slot.restart_at:
                self._start(slot)
        waiting: list[Any] = []
        for slot in self._slots:
            if slot.process is not None:
                waiting.append(slot.process.sentinel)
            if slot.serving is not None:
                waiting.append(slot.serving)
        wait(waiting, TICK)
        if self._stopping:
            return
        for slot in self._slots:
            self._check_serving(slot)
            if slot.process is not None and not slot.process.is_alive():
                self._restart_later(slot, slot.process)

    def _start(self, slot: _Slot) -> None:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker, args=(*self._worker_args, writer), daemon=False
        )
        process.start()
        writer.close()
        slot.process, slot.serving, slot.served_at = process, reader, None

    def _check_serving(self, slot: _Slot) -> None:
        if slot.serving is None or not slot.serving.poll():
            return
        try:
            slot.serving.recv_bytes()
        except EOFError:
            pass  # it died first; the death is handled on its own
        else:
            slot.served_at = time.monotonic()
            slot.failed_starts = 0
        slot.serving.close()
        slot.serving = None

    def _restart_later(self, slot: _Slot, process: BaseProcess) -> None:
        self._check_serving(slot)
        now, served_at = time.monotonic(), slot.served_at
        slot.process = None
        if slot.serving is not None:
            slot.serving.close()
            slot.serving = None
        process.join()
        exit_status, pid = _describe(process.exitcode), process.pid
        process.close()
        if self._metrics_dir is not None and pid is not None:
            forget_worker(pid, self._metrics_dir)
        if served_at is not None and now - served_at >= STEADY_AFTER:
            slot.deaths = 0
        slot.deaths += 1
        if served_at is None:
            slot.failed_starts += 1
            if slot.failed_starts >= START_ATTEMPTS:
                raise WorkerStartupError(
                    f"workers died {slot.failed_starts} times in a row before they could serve "
                    f"(the last with {exit_status}); stopping. Restarting will not help: see "
                    f"the errors above (port {self._port} taken by another program? "
                    "an application that cannot load?)"
                )
        pause = min(FIRST_PAUSE * 2 ** (slot.deaths - 1), LONGEST_PAUSE)
        slot.restart_at = now + pause
        log.error(
            "worker %s %s with %s; restarting it in %gs",
            pid,
            "exited" if served_at is not None else "exited before it served",
            exit_status,
            pause,
        )


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"signal {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"
