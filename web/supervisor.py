"""Several uvicorn workers, each with its own SO_REUSEPORT listening socket.

With one shared socket, whichever worker wakes first accepts a whole burst of connections
and the others idle; with a socket per worker the kernel spreads connections evenly. The
sockets are created with IPPROTO_TCP so that accepted connections get TCP_NODELAY (a shared
socket made without it leaves every keep-alive response waiting on delayed ACKs).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

log = logging.getLogger("orderly.supervisor")
RESTART_PAUSE = 1.0
STARTUP_GRACE = 10.0


class WorkerStartupError(RuntimeError):
    """A worker died before it could serve: restarting it would only loop."""


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


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn

    sock = listening_socket(host, port)
    uvicorn.Server(uvicorn.Config(**options)).run(sockets=[sock])


def supervise(host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Run `workers` processes until SIGINT or SIGTERM, restarting any that die."""
    context = multiprocessing.get_context("spawn")
    stopping = False

    started_at: dict[int, float] = {}

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(host, port, options), daemon=False)
        process.start()
        started_at[id(process)] = time.monotonic()
        return process

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.pid is not None and process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes in-flight requests

    processes = [start() for _ in range(workers)]
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                if time.monotonic() - started_at[id(process)] < STARTUP_GRACE:
                    stop(signal.SIGTERM, None)
                    raise WorkerStartupError(f"a worker exited at start-up ({process.exitcode})")
                log.error("worker %s exited with %s; restarting", process.pid, process.exitcode)
                time.sleep(RESTART_PAUSE)
                processes[index] = start()
    finally:
        for process in processes:
            process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
