"""The built-in load generator, for machines without wrk: its own process, raw asyncio streams.

    python -m bench.loadgen SPEC.json

SPEC names the target, the connection count, the duration, a per-request timeout, a bound
on the number of requests, and the request file (see bench/wire.py). Each connection is an
HTTP/1.1 keep-alive stream that sends one request, reads the whole response, and goes on
with the next request of the list from its own offset. Requests still in flight at the end
are not counted (as in wrk). Prints one line "BENCH_RESULT {json}".
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.wire import ERROR, OK, REJECTED, read_requests, verdict

HEADER_LIMIT = 1 << 20
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class Spec:
    host: str
    port: int
    connections: int
    duration: float
    timeout: float
    max_requests: int
    requests_file: Path


@dataclass(slots=True)
class Tally:
    issued: int = 0
    latencies: list[float] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=lambda: {OK: 0, REJECTED: 0, ERROR: 0})
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    )
    error_sample: str = ""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one response: Content-Length, chunked, or until EOF."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head[:-4].partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length: int | None = None
    chunked = False
    keep_alive = True
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
    if chunked:
        return status, await _read_chunked(reader), keep_alive
    if length is not None:
        return status, await reader.readexactly(length), keep_alive
    return status, await reader.read(), False


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


async def _open(spec: Spec, tally: Tally) -> Stream | None:
    try:
        return await asyncio.wait_for(
            asyncio.open_connection(spec.host, spec.port, limit=HEADER_LIMIT), spec.timeout
        )
    except (OSError, TimeoutError):
        tally.socket_errors["connect"] += 1
        return None


async def _connection(
    spec: Spec, requests: list[bytes], offset: int, tally: Tally, deadline: float
) -> None:
    """One keep-alive connection: request, whole response, next request; reconnects."""
    index = offset
    stream: Stream | None = None
    try:
        while time.monotonic() < deadline and tally.issued < spec.max_requests:
            if stream is None:
                stream = await _open(spec, tally)
                if stream is None:
                    await asyncio.sleep(0.05)
                    continue
            reader, writer = stream
            raw = requests[index % len(requests)]
            index += 1
            tally.issued += 1
            started = time.perf_counter()
            try:
                writer.write(raw)
                await writer.drain()
            except OSError:
                tally.socket_errors["write"] += 1
                _close(writer)
                stream = None
                continue
            try:
                status, body, keep_alive = await asyncio.wait_for(
                    read_response(reader), spec.timeout
                )
            except TimeoutError:
                tally.socket_errors["timeout"] += 1
                _close(writer)
                stream = None
                continue
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                tally.socket_errors["read"] += 1
                _close(writer)
                stream = None
                continue
            tally.latencies.append(time.perf_counter() - started)
            key = str(status)
            tally.statuses[key] = tally.statuses.get(key, 0) + 1
            outcome = verdict(status, body)
            tally.verdicts[outcome] += 1
            if outcome == ERROR and not tally.error_sample:
                tally.error_sample = f"{status} {body[:400].decode('utf-8', 'replace')}"
            if not keep_alive:
                _close(writer)
                stream = None
    finally:
        if stream is not None:
            _close(stream[1])


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def run(spec: Spec) -> dict[str, object]:
    requests = read_requests(spec.requests_file)
    tally = Tally()
    started = time.monotonic()
    deadline = started + spec.duration
    tasks = [
        asyncio.create_task(
            _connection(spec, requests, len(requests) * n // spec.connections, tally, deadline)
        )
        for n in range(spec.connections)
    ]
    _, pending = await asyncio.wait(tasks, timeout=spec.duration)
    for task in pending:  # requests in flight at the end are dropped, as wrk does
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = min(time.monotonic() - started, spec.duration)
    ordered = sorted(tally.latencies)
    completed = len(ordered)
    return {
        "requests": completed,
        "duration_s": elapsed,
        "ok": tally.verdicts[OK],
        "rejected": tally.verdicts[REJECTED],
        "errors": tally.verdicts[ERROR],
        "statuses": tally.statuses,
        "socket_errors": tally.socket_errors,
        "latency_ms": {
            "p50": percentile(ordered, 0.50) * 1e3,
            "p90": percentile(ordered, 0.90) * 1e3,
            "p99": percentile(ordered, 0.99) * 1e3,
            "max": (ordered[-1] if ordered else 0.0) * 1e3,
            "mean": (sum(ordered) / completed if completed else 0.0) * 1e3,
        },
        "error_sample": tally.error_sample,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.loadgen SPEC.json", file=sys.stderr)
        return 2
    raw = orjson.loads(Path(argv[0]).read_bytes())
    spec = Spec(
        host=str(raw["host"]),
        port=int(raw["port"]),
        connections=int(raw["connections"]),
        duration=float(raw["duration"]),
        timeout=float(raw["timeout"]),
        max_requests=int(raw["max_requests"]),
        requests_file=Path(raw["requests_file"]),
    )
    result = asyncio.run(run(spec))
    sys.stdout.write("BENCH_RESULT " + orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
