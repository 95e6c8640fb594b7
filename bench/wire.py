"""Raw HTTP/1.1 for the load generators: request bytes, the requests file, and verdicts.

Both load generators (wrk with bench/lua/requests.lua, and bench.loadgen) replay the same
prebuilt request bytes from one file, and judge each response by the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

OK = "ok"
REJECTED = "rejected"  # only INSUFFICIENT_STOCK user errors: an expected business outcome
ERROR = "error"
EXPECTED_REJECTION = b"INSUFFICIENT_STOCK"
_CODE = re.compile(rb'"code":\s*"([A-Z_]+)"')


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def request_bytes(
    target: Target,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """One complete keep-alive HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {target.host}:{target.port}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def graphql_request(
    target: Target,
    query: str,
    variables: Mapping[str, object] | None = None,
    *,
    path: str = "/graphql",
    cookie: str | None = None,
) -> bytes:
    payload: dict[str, object] = {"query": query}
    if variables:
        payload["variables"] = dict(variables)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    return request_bytes(target, "POST", path, body=orjson.dumps(payload), headers=headers)


def write_requests(path: Path, requests: Iterable[bytes]) -> int:
    """Write length-prefixed records ("<n>\\n<n bytes>"): any bytes, no escaping."""
    count = 0
    with path.open("wb") as out:
        for raw in requests:
            out.write(b"%d\n" % len(raw))
            out.write(raw)
            count += 1
    if count == 0:
        raise ValueError("no requests to write")
    return count


def read_requests(path: Path) -> list[bytes]:
    data = path.read_bytes()
    requests: list[bytes] = []
    position = 0
    while position < len(data):
        newline = data.index(b"\n", position)
        size = int(data[position:newline])
        start = newline + 1
        requests.append(data[start : start + size])
        position = start + size
    return requests


def verdict(status: int, body: bytes) -> str:
    """ok, rejected (INSUFFICIENT_STOCK user errors only) or error; same rule as the Lua."""
    if status != 200 or b'"errors"' in body:
        return ERROR
    codes = _CODE.findall(body)
    if not codes:
        return OK
    return REJECTED if all(code == EXPECTED_REJECTION for code in codes) else ERROR
