"""Headers that tell browsers how to treat what this server sends.

- every response: `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`;
- every response under a private prefix (`/graphql`, `/api`): `Cache-Control: no-store`.
  Nearly all of them read the session or set cookies; marking the few public ones too
  costs little, where one wrongly cacheable response would show one user's data to another;
- every HTML page: `X-Frame-Options: DENY` and a Content-Security-Policy: the page's own
  (`page_policy`) when it set one, otherwise one that lets nothing load and nothing frame it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Directives every page's policy ends with: no plugins, no <base>, no form posts, no framing.
_LOCKED = "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
DEFAULT_PAGE_POLICY = f"default-src 'none'; {_LOCKED}"
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, private_prefixes: Iterable[str]) -> None:
        self.app = app
        self.private = tuple(private_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["path"].startswith(self.private)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = secured(list(message.get("headers", [])), private=private)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secured(headers: list[tuple[bytes, bytes]], *, private: bool) -> list[tuple[bytes, bytes]]:
    """`headers` of a response with the headers above added (or put in place)."""
    replaced = {name for name, _ in _ALWAYS} | ({b"cache-control"} if private else set())
    names = {name.lower() for name, _ in headers}
    html = any(
        name.lower() == b"content-type" and value.lower().startswith(b"text/html")
        for name, value in headers
    )
    result = [(name, value) for name, value in headers if name.lower() not in replaced]
    result.extend(_ALWAYS)
    if private:
        result.append((b"cache-control", b"no-store"))
    if html:
        result.append((b"x-frame-options", b"DENY"))
        if b"content-security-policy" not in names:
            result.append((b"content-security-policy", DEFAULT_PAGE_POLICY.encode()))
    return result


def page_policy(html: str) -> str:
    """The Content-Security-Policy that allows exactly what `html` loads: its scripts and
    stylesheets by URL (same-origin ones as 'self'), its inline scripts and styles by hash,
    `data:` images, and requests back to this server."""
    page = _PageResources()
    page.feed(html)
    page.close()
    scripts = " ".join(sorted(page.scripts))
    styles = " ".join(sorted(page.styles))
    return (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; "
        f"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; {_LOCKED}"
    )


class _PageResources(HTMLParser):
    """Collects the CSP sources of the scripts and stylesheets in a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: set[str] = set()
        self.styles: set[str] = set()
        self._inline: set[str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.scripts.add(_source(attributes["src"] or ""))
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.styles.add(_source(attributes.get("href") or ""))
        elif tag in ("script", "style"):
            self._inline = self.scripts if tag == "script" else self.styles
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._inline is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._inline is not None and tag in ("script", "style"):
            digest = hashlib.sha256("".join(self._text).encode()).digest()
            self._inline.add(f"'sha256-{base64.b64encode(digest).decode()}'")
            self._inline = None


def _source(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme:
        return "'self'"
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
