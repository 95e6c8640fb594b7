"""Fixtures of the webhook suite: receivers on this machine are allowed, retries are quick."""

from __future__ import annotations

from dataclasses import replace

import pytest

from settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings, webhook_allow_private=True, webhook_retry_base=0.001, webhook_timeout=2.0
    )
