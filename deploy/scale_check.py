"""What the deployment promises, checked on a running two-host deployment.

`deploy/scale_test.sh` builds the deployment (two hosts with 2 workers each, PgBouncer in
transaction pooling before one PostgreSQL, HAProxy in front) and runs this against it:

- a session started on one host is valid on the other;
- a logout on one host is refused on the next request to the other;
- login throttling counts the failures sent to both hosts together;
- one idempotency key sent to both hosts at once yields one order;
- a checkout rush spread over both hosts through the balancer oversells nothing;
- throughput through the balancer with both hosts, then with one (reported);
- one host stopped with SIGTERM under load drains without a failed request.

Exits non-zero when a check fails; prints a JSON summary on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auth.passwords import Passwords
from resolvers.accounts import email_key

PASSWORD = "scale test password 7f3k"  # noqa: S105 - the accounts this test creates
ACCESS = "orderly_access"
REFRESH = "orderly_refresh"
RUSH_STOCK = 50
RUSH_ATTEMPTS = 100


class CheckFailed(AssertionError):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)
    print(f"  ok  {what}", flush=True)


def cookies_of(response: httpx.Response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name] = rest.split(";", 1)[0]
    return found


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


class Deployment:
    def __init__(self, args: argparse.Namespace) -> None:
        self.balancer: str = args.balancer
        self.hosts: list[str] = args.host
        self.database: str = args.database
        self.haproxy_socket: str = args.haproxy_socket
        self.stop_pid: int = args.stop_host_pid
        self.duration: float = args.duration
        self.http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200))
        self.run = uuid.uuid4().hex[:8]
        self.summary: dict[str, Any] = {}

    # -- data -------------------------------------------------------------------------------

    async def add_accounts(self, count: int, role: str = "CLIENT") -> list[str]:
        """Accounts written straight to the database (registration is throttled per address)."""
        password_hash = Passwords().hash_sync(PASSWORD)
        emails = [f"{role.lower()}-{self.run}-{i}@scale.test" for i in range(count)]
        db = await asyncpg.connect(self.database)
        try:
            await db.executemany(
                "INSERT INTO users (email, email_key, name, role, password_hash)"
                " VALUES ($1, $2, $3, $4, $5)",
                [
                    (email, email_key(email), f"Scale {i}", role, password_hash)
                    for i, email in enumerate(emails)
                ],
            )
        finally:
            await db.close()
        return emails

    async def login(self, base: str, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.http.post(
            f"{base}/api/auth/login", json={"email": email, "password": password}
        )

    async def session(self, base: str, email: str) -> dict[str, str]:
        response = await self.login(base, email)
        if response.status_code != 200:
            raise CheckFailed(f"login of {email} on {base}: {response.status_code} {response.text}")
        return cookies_of(response)

    async def create_product(self, admin: dict[str, str], stock: int) -> str:
        response = await self.http.post(
            f"{self.balancer}/api/products",
            json={"name": f"Scale {self.run} {stock}", "price": "9.99", "stock": stock},
            headers=cookie_header(admin),
        )
        if response.status_code != 201:
            raise CheckFailed(f"product not created: {response.status_code} {response.text}")
        product_id: str = response.json()["id"]
        return product_id

    async def stock_of(self, product_id: str) -> int:
        response = await self.http.get(f"{self.balancer}/api/products/{product_id}")
        stock: int = response.json()["stock"]
        return stock

    async def place(
        self, base: str, cookies: dict[str, str], product_id: str, quantity: int, key: str | None
    ) -> httpx.Response:
        headers = cookie_header(cookies)
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.http.post(
            f"{base}/api/orders",
            json={"items": [{"productId": product_id, "quantity": quantity}]},
            headers=headers,
        )

    # -- the checks -------------------------------------------------------------------------

    async def sessions_span_hosts(self, email: str) -> None:
        one, other = self.hosts
        cookies = await self.session(one, email)
        me = await self.http.get(f"{other}/api/users/me", headers=cookie_header(cookies))
        check(
            me.status_code == 200 and me.json()["email"] == email,
            "a session started on host 1 is valid on host 2",
        )
        out = await self.http.post(f"{other}/api/auth/logout", headers=cookie_header(cookies))
        check(out.status_code == 204, "logout on host 2 answers 204")
        again = await self.http.get(f"{one}/api/users/me", headers=cookie_header(cookies))
        check(again.status_code == 401, "the next request with that session to host 1 is 401")
        refreshed = await self.http.post(
            f"{one}/api/auth/refresh", headers=cookie_header({REFRESH: cookies[REFRESH]})
        )
        check(refreshed.status_code == 401, "its refresh token is refused on host 1 too")

    async def throttle_spans_hosts(self, email: str) -> None:
        statuses = []
        for attempt in range(5):
            host = self.hosts[attempt % 2]
            statuses.append((await self.login(host, email, "wrong password 123")).status_code)
        check(statuses == [401] * 5, "five wrong passwords alternating between hosts: 401 each")
        right = await self.login(self.hosts[1], email)
        check(
            right.status_code == 429 and "retry-after" in right.headers,
            "the sixth attempt, right password, on host 2: 429 with Retry-After "
            "(the failures on both hosts were counted together)",
        )

    async def idempotency_spans_hosts(self, email: str, product_id: str) -> None:
        cookies = await self.session(self.balancer, email)
        key = f"scale-{self.run}"
        first, second = await asyncio.gather(
            *(self.place(host, cookies, product_id, 1, key) for host in self.hosts)
        )
        statuses = sorted([first.status_code, second.status_code])
        check(
            statuses == [200, 201],
            f"one host placed it (201), the other replayed it (200): {statuses}",
        )
        check(first.json()["id"] == second.json()["id"], "both hosts answer the same order")
        db = await asyncpg.connect(self.database)
        try:
            orders = await db.fetchval(
                "SELECT count(*) FROM orders WHERE idempotency_key = $1", key
            )
        finally:
            await db.close()
        check(orders == 1, "one idempotency key sent to both hosts at once: one order")

    async def rush(self, emails: list[str], product_id: str) -> None:
        sessions = await asyncio.gather(*(self.session(self.balancer, e) for e in emails))
        before = await self.stock_of(product_id)

        async def attempt(i: int) -> tuple[int, str]:
            response = await self.place(
                self.balancer, sessions[i % len(sessions)], product_id, 1, None
            )
            return response.status_code, response.headers.get("x-served-by", "?")

        results = await asyncio.gather(*(attempt(i) for i in range(RUSH_ATTEMPTS)))
        statuses = Counter(status for status, _ in results)
        served = Counter(host for _, host in results)
        after = await self.stock_of(product_id)
        self.summary["rush"] = {
            "stock": before, "attempts": RUSH_ATTEMPTS, "statuses": dict(statuses),
            "served_by": dict(served),
        }  # fmt: skip
        check(set(statuses) <= {201, 409}, f"the rush answered only 201 and 409: {dict(statuses)}")
        check(
            statuses[201] == before and after == 0,
            f"{RUSH_ATTEMPTS} orders of one unit for {before} in stock: {statuses[201]} placed, "
            f"stock left {after} (no oversell, nothing lost)",
        )
        check(len(served) == 2, f"the rush was spread over both hosts: {dict(served)}")

    def haproxy(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(self.haproxy_socket)
            sock.sendall(command.encode() + b"\n")
            return sock.recv(65536).decode()

    def wrk(self, url: str) -> float:
        wrk = shutil.which("wrk") or "wrk"
        output = subprocess.run(  # noqa: S603 - a fixed command line
            [wrk, "-t2", "-c32", f"-d{max(1, round(self.duration))}s", "--latency", url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        match = re.search(r"Requests/sec:\s+([\d.]+)", output)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        if errors:
            raise CheckFailed(f"wrk saw {errors.group(1)} failed responses: {output}")
        return float(match.group(1)) if match else 0.0

    def throughput(self) -> None:
        if shutil.which("wrk") is None:
            print("  --  wrk is not installed: throughput not measured", flush=True)
            return
        url = f"{self.balancer}/api/products?limit=20"
        both = self.wrk(url)
        self.haproxy("disable server hosts/h2")
        try:
            time.sleep(0.5)
            one = self.wrk(url)
        finally:
            self.haproxy("enable server hosts/h2")
            time.sleep(1.5)
        self.summary["throughput"] = {
            "url": url, "two_hosts_rps": round(both, 1), "one_host_rps": round(one, 1),
            "ratio": round(both / one, 2) if one else None, "cores": os.cpu_count(),
        }  # fmt: skip
        print(
            f"  --  throughput through the balancer: two hosts {both:.0f} req/s, one host "
            f"{one:.0f} req/s ({both / one:.2f}x) on {os.cpu_count()} cores shared by both",
            flush=True,
        )

    async def drain(self) -> None:
        stop_at = time.monotonic() + 2.0
        end_at = time.monotonic() + 8.0
        outcomes: Counter[str] = Counter()
        served_after: Counter[str] = Counter()
        stopped = False

        async def client() -> None:
            nonlocal stopped
            async with httpx.AsyncClient(timeout=15) as http:
                while time.monotonic() < end_at:
                    try:
                        response = await http.get(f"{self.balancer}/api/products?limit=5")
                        outcomes[str(response.status_code)] += 1
                        if stopped and time.monotonic() > stop_at + 5:
                            served_after[response.headers.get("x-served-by", "?")] += 1
                    except httpx.HTTPError as error:
                        outcomes[type(error).__name__] += 1

        async def stopper() -> None:
            nonlocal stopped
            await asyncio.sleep(stop_at - time.monotonic())
            os.kill(self.stop_pid, signal.SIGTERM)
            stopped = True

        await asyncio.gather(stopper(), *(client() for _ in range(16)))
        exited = await asyncio.to_thread(_wait_exit, self.stop_pid, 15.0)
        self.summary["drain"] = {
            "outcomes": dict(outcomes), "served_at_the_end": dict(served_after)
        }  # fmt: skip
        check(
            set(outcomes) == {"200"},
            f"host 2 stopped under load: every request answered 200 "
            f"({sum(outcomes.values())} requests: {dict(outcomes)})",
        )
        check(exited, "host 2's server exited after its drain")
        check(set(served_after) == {"h1"}, f"afterwards host 1 serves alone: {dict(served_after)}")

    async def run_all(self) -> None:
        admin_email, *_ = await self.add_accounts(1, role="ADMIN")
        customers = await self.add_accounts(24)
        admin = await self.session(self.balancer, admin_email)
        print("sessions", flush=True)
        await self.sessions_span_hosts(customers[0])
        print("throttling", flush=True)
        await self.throttle_spans_hosts(customers[1])
        print("idempotency", flush=True)
        await self.idempotency_spans_hosts(customers[2], await self.create_product(admin, 10))
        print("checkout rush", flush=True)
        await self.rush(customers[3:], await self.create_product(admin, RUSH_STOCK))
        print("throughput", flush=True)
        self.throughput()
        print("drain", flush=True)
        await self.drain()


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.1)
    return False


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--balancer", required=True)
    parser.add_argument("--host", action="append", required=True)
    parser.add_argument("--database", required=True, help="PostgreSQL itself, not PgBouncer")
    parser.add_argument("--haproxy-socket", required=True)
    parser.add_argument("--stop-host-pid", type=int, required=True)
    parser.add_argument("--duration", type=float, default=10.0)
    deployment = Deployment(parser.parse_args())
    try:
        await deployment.run_all()
    except CheckFailed as failed:
        print(f"FAILED: {failed}", flush=True)
        print(json.dumps(deployment.summary), flush=True)
        return 1
    finally:
        await deployment.http.aclose()
    print(json.dumps(deployment.summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
