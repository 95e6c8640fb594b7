"""GraphiQL and Swagger UI in a real browser that can reach nothing but this server: a query
typed into GraphiQL's editor runs and shows its result; "Try it out" in Swagger UI logs out."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.wait import WebDriverWait

from tests.browser.browser import (
    CHROMEDRIVER,
    CHROMIUM,
    browser,
    can_fetch,
    console,
    requested_urls,
)
from tests.helpers import PASSWORD, sql_at
from tests.live_server import Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver)",
    ),
]
EMAIL = "browser@example.com"
NAME = "Browser Tester"
WAIT = 30


def _live_sessions(database_url: str) -> int:
    [(found,)] = asyncio.run(
        sql_at(
            database_url,
            "SELECT count(*) FROM login_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE u.email = $1 AND s.revoked_at IS NULL",
            EMAIL,
        )
    )
    return int(found)


def _run_in_graphiql(driver: WebDriver, document: str, expected: str) -> str:
    """Type `document` into GraphiQL's query editor, run it, and wait for `expected`."""
    wait = WebDriverWait(driver, WAIT)
    editor = wait.until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror"))
    )
    editor.click()
    typing = driver.switch_to.active_element
    typing.send_keys(Keys.CONTROL, "a")
    typing.send_keys(Keys.DELETE)
    typing.send_keys(document)
    driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    response = (By.CSS_SELECTOR, ".graphiql-response")
    wait.until(ready.text_to_be_present_in_element(response, expected))
    return str(driver.find_element(*response).text)


def _click(driver: WebDriver, selector: str) -> None:
    clickable = ready.element_to_be_clickable((By.CSS_SELECTOR, selector))
    WebDriverWait(driver, WAIT).until(clickable).click()


def _assert_only_this_server(driver: WebDriver, origin: str) -> None:
    urls = requested_urls(driver)
    assert any(url.endswith((".js", ".css")) for url in urls), urls
    foreign = [url for url in urls if not url.startswith((f"{origin}/", "data:"))]
    assert foreign == [], foreign
    violations = [line for line in console(driver) if "Content Security Policy" in line]
    assert violations == [], violations


def test_graphiql_runs_a_query_and_swagger_ui_logs_out(browsed_server: Server) -> None:
    registered = httpx.post(
        f"{browsed_server.url}/api/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "name": NAME},
    )
    assert registered.status_code == 201, registered.text
    database_url: str = browsed_server.database_url  # type: ignore[attr-defined]
    before = _live_sessions(database_url)

    with browser(browsed_server.url) as driver:
        driver.get(f"{browsed_server.url}/healthz")  # JSON, no policy: only the network can refuse
        assert not can_fetch(driver, "https://unpkg.com/graphiql/graphiql.min.js")
        assert can_fetch(driver, f"{browsed_server.url}/readyz")
        requested_urls(driver)  # the probes are not the pages' requests
        driver.get(f"{browsed_server.url}/graphql")
        login = (
            f'mutation {{ login(input: {{email: "{EMAIL}", password: "{PASSWORD}"}}) '
            "{ user { email } userErrors { code } } }"
        )
        assert EMAIL in _run_in_graphiql(driver, login, EMAIL)
        assert NAME in _run_in_graphiql(driver, "{ me { name role } }", NAME)
        assert _live_sessions(database_url) == before + 1
        _assert_only_this_server(driver, browsed_server.url)

        driver.get(f"{browsed_server.url}/docs")
        logout = "#operations-auth-auth_logout"
        _click(driver, f"{logout} .opblock-summary")
        _click(driver, f"{logout} .try-out__btn")
        _click(driver, f"{logout} .execute")
        answer = (By.CSS_SELECTOR, f"{logout} .live-responses-table")
        WebDriverWait(driver, WAIT).until(ready.text_to_be_present_in_element(answer, "204"))
        assert _live_sessions(database_url) == before
        assert not [c for c in driver.get_cookies() if c["name"].startswith("orderly_")]
        _assert_only_this_server(driver, browsed_server.url)
