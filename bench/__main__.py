"""`python -m bench [options]`: run the load benchmark (see bench/README.md)."""

from __future__ import annotations

import logging
import sys

from bench.config import parse_config
from bench.runner import run


def main() -> int:
    config = parse_config()
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
