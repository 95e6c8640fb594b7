"""The benchmark's parameters: one frozen object, built from the command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
WORKLOADS = ("W1", "W2", "W3", "W4")


@dataclass(frozen=True, slots=True)
class Config:
    # data set
    customers: int = 1_000
    products: int = 5_000
    orders: int = 20_000
    items: int = 60_000
    hot_products: int = 10
    hot_stock: int = 50
    # servers
    workers: int = 2
    db_pool_size: int = 16
    # load
    duration: float = 10.0
    warmup: float = 2.0
    connections: int = 32
    login_connections: int = 4
    checkout_customers: int = 64
    hot_share: float = 0.8
    min_price: str = "10"
    max_price: str = "500"
    load: str = "auto"  # auto | wrk | python
    max_requests: int = 2_000_000  # per load process: every loop is bounded in count too
    workloads: tuple[str, ...] = WORKLOADS
    baselines: bool = True
    seed: int = 20_240_601
    # where
    database_url: str | None = None
    output: Path | None = None

    def as_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["output"] = str(self.output) if self.output else None
        values["database_url"] = "(set)" if self.database_url else None
        values["workloads"] = list(self.workloads)
        return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Orderly load benchmark: starts PostgreSQL (embedded, or DATABASE_URL), "
        "loads a data set, starts the real server and the baselines, drives load, and prints "
        "a table (plus a JSON file under bench/results/).",
    )
    defaults = Config()
    data = parser.add_argument_group("data set")
    data.add_argument("--customers", type=_positive, default=defaults.customers)
    data.add_argument("--products", type=_positive, default=defaults.products)
    data.add_argument("--orders", type=_positive, default=defaults.orders)
    data.add_argument("--items", type=_positive, default=defaults.items, help="order lines")
    data.add_argument(
        "--hot-products", type=_positive, default=defaults.hot_products,
        help="products that take most checkout lines (W3)",
    )  # fmt: skip
    data.add_argument(
        "--hot-stock", type=_positive, default=defaults.hot_stock,
        help="starting stock of each hot product (small, so INSUFFICIENT_STOCK happens)",
    )  # fmt: skip
    servers = parser.add_argument_group("servers")
    servers.add_argument("--workers", type=_positive, default=defaults.workers)
    servers.add_argument(
        "--db-pool-size", type=_positive, default=defaults.db_pool_size,
        help="connections per worker, for the server and the asyncpg baseline alike",
    )  # fmt: skip
    load = parser.add_argument_group("load")
    load.add_argument(
        "--duration", type=_seconds, default=defaults.duration, help="seconds per run"
    )
    load.add_argument(
        "--warmup", type=_seconds_or_zero, default=defaults.warmup,
        help="seconds of unmeasured load before each read-only run (0: none)",
    )  # fmt: skip
    load.add_argument("--connections", type=_positive, default=defaults.connections)
    load.add_argument(
        "--login-connections", type=_positive, default=defaults.login_connections,
        help="connections of the login storm (W4)",
    )  # fmt: skip
    load.add_argument(
        "--checkout-customers", type=_positive, default=defaults.checkout_customers,
        help="customers signed in before W3, whose cookies rotate",
    )  # fmt: skip
    load.add_argument("--min-price", default=defaults.min_price, help="W2 filter (decimal)")
    load.add_argument("--max-price", default=defaults.max_price, help="W2 filter (decimal)")
    load.add_argument(
        "--load", choices=("auto", "wrk", "python"), default=defaults.load,
        help="load generator: wrk when installed (auto), or the built-in asyncio one",
    )  # fmt: skip
    load.add_argument(
        "--max-requests", type=_positive, default=defaults.max_requests,
        help="upper bound on requests per load process (built-in generator)",
    )  # fmt: skip
    load.add_argument(
        "--workloads", default=",".join(WORKLOADS),
        help="comma-separated subset of W1,W2,W3,W4",
    )  # fmt: skip
    load.add_argument(
        "--no-baselines", action="store_true", help="skip the asyncpg and static baselines"
    )
    load.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--output", type=Path, default=None,
        help="JSON result path (default: bench/results/bench-<UTC time>.json)",
    )  # fmt: skip
    return parser


def parse_config(argv: Sequence[str] | None = None) -> Config:
    parser = build_parser()
    args = parser.parse_args(argv)
    workloads = tuple(w.strip().upper() for w in args.workloads.split(",") if w.strip())
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown or not workloads:
        parser.error(f"--workloads: unknown {', '.join(unknown) or '(empty)'}")
    if args.hot_products >= args.products:
        parser.error("--hot-products must be smaller than --products")
    if args.checkout_customers > args.customers:
        parser.error("--checkout-customers must not exceed --customers")
    return Config(
        customers=args.customers,
        products=args.products,
        orders=args.orders,
        items=args.items,
        hot_products=args.hot_products,
        hot_stock=args.hot_stock,
        workers=args.workers,
        db_pool_size=args.db_pool_size,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        login_connections=args.login_connections,
        checkout_customers=args.checkout_customers,
        min_price=args.min_price,
        max_price=args.max_price,
        load=args.load,
        max_requests=args.max_requests,
        workloads=workloads,
        baselines=not args.no_baselines,
        seed=args.seed,
        database_url=os.environ.get("DATABASE_URL") or None,
        output=args.output,
    )


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(raw: str) -> float:
    value = float(raw)
    if not 0.5 <= value <= 600:
        raise argparse.ArgumentTypeError("must be between 0.5 and 600 seconds")
    return value


def _seconds_or_zero(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 60:
        raise argparse.ArgumentTypeError("must be between 0 and 60 seconds")
    return value
