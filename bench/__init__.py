"""Orderly's load benchmark: `python -m bench` (see bench/README.md). Not run by the tests."""
