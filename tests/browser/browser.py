"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by selenium, with its
network limited to one origin: every other host name fails to resolve."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
# Chromium's own background traffic (updates, sync, safe browsing), which tests do not need.
_QUIET = (
    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--disable-features=Translate,OptimizationHints,MediaRouter",
)  # fmt: skip


@contextmanager
def browser(origin: str) -> Iterator[webdriver.Chrome]:
    """A headless Chromium that can reach `origin` (an http://127.0.0.1:PORT) and nothing else."""
    assert CHROMIUM and CHROMEDRIVER
    host = urlsplit(origin).hostname
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
        f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {host}", *_QUIET,
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def _log(driver: WebDriver, kind: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = driver.execute("getLog", {"type": kind})["value"]
    return entries


def requested_urls(driver: WebDriver) -> list[str]:
    """Every URL the pages requested since the last call (from the DevTools log)."""
    urls = []
    for entry in _log(driver, "performance"):
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    return urls


def console(driver: WebDriver) -> list[str]:
    """The console messages since the last call."""
    return [str(entry["message"]) for entry in _log(driver, "browser")]


def can_fetch(driver: WebDriver, url: str) -> bool:
    """Whether a script on the current page can fetch `url` at all (any answer counts)."""
    script = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {mode: "no-cors"}).then(() => done(true), () => done(false));
    """
    return bool(driver.execute_async_script(script, url))
