"""Webhook endpoints: registering, changing and removing them, their deliveries, replays.

The deliveries themselves are written by the database, in the transaction of each order
change (migration 0005), and sent by `resolvers.webhook_dispatch`.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.viewer import Viewer
from db.models import Webhook, WebhookDelivery
from domain.codes import DeliveryStatus, ErrorCode, WebhookEvent
from domain.errors import BusinessError, Problem
from resolvers.pagination import Page, PageRequest, counting, fetch_page
from resolvers.users import require_admin

MAX_URL = 2000
MAX_DESCRIPTION = 1000
SECRET_BYTES = 32
RESOLVE_TIMEOUT = 3.0

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeAddress(Exception):
    """A webhook URL that may not be called: not https, or not a public address."""


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """What createWebhook sets, or updateWebhook changes (None: unchanged)."""

    url: str | None = None
    events: Sequence[WebhookEvent] | None = None
    description: str | None = None
    active: bool | None = None


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    webhook: Webhook
    secret: str  # the signing secret, shown this once


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def is_public(address: IpAddress) -> bool:
    """Whether `address` is on the public internet (not loopback, private, link-local,
    multicast, reserved, or an IPv4 one of those mapped into IPv6)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def url_parts(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
    """The scheme, host, port and path-and-query of a webhook URL, or `UnsafeAddress`.

    Outside development (`allow_private` false) the scheme must be https.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeAddress("The URL is malformed.") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeAddress("A webhook URL must be https.")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise UnsafeAddress("A webhook URL names a host and no credentials.")
    if parts.fragment:
        raise UnsafeAddress("A webhook URL has no fragment.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default, target


async def resolve(host: str, port: int, *, allow_private: bool) -> list[IpAddress]:
    """The addresses `host` resolves to, every one of them public unless `allow_private`;
    otherwise `UnsafeAddress`. Checked again at each delivery, where the connection goes to
    exactly the addresses checked, so a DNS answer that changes later (rebinding) cannot
    send a delivery to a private address."""
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
            )
        except (OSError, TimeoutError, UnicodeError):
            raise UnsafeAddress(f"The host {host!r} does not resolve.") from None
        found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not found:
        raise UnsafeAddress(f"The host {host!r} does not resolve.")
    if not allow_private and not all(is_public(address) for address in found):
        raise UnsafeAddress("A webhook URL must lead to a public address.")
    return found


async def _checked_url(url: str, *, allow_private: bool) -> str:
    url = url.strip()
    if not 1 <= len(url) <= MAX_URL or "\x00" in url:
        raise BusinessError.one(
            ErrorCode.INVALID_INPUT, f"A URL has 1 to {MAX_URL} characters.", ["url"]
        )
    try:
        _, host, port, _ = url_parts(url, allow_private=allow_private)
        await resolve(host, port, allow_private=allow_private)
    except UnsafeAddress as error:
        raise BusinessError.one(ErrorCode.INVALID_INPUT, str(error), ["url"]) from None
    return url


def _checked_events(events: Sequence[WebhookEvent]) -> list[str]:
    if not events:
        raise BusinessError.one(ErrorCode.INVALID_INPUT, "Choose at least one event.", ["events"])
    return [event.value for event in WebhookEvent if event in events]


def _checked_description(description: str | None) -> str | None:
    if description is None:
        return None
    if len(description) > MAX_DESCRIPTION or "\x00" in description:
        raise BusinessError.one(
            ErrorCode.INVALID_INPUT,
            f"At most {MAX_DESCRIPTION} characters, none of them NUL.",
            ["description"],
        )
    return description.strip() or None


async def create_webhook(
    *, db: AsyncSession, viewer: Viewer | None, changes: WebhookChanges, allow_private: bool
) -> CreatedWebhook:
    """Admin only: register an endpoint; its signing secret is in the answer, and only there.

    The URL must be https to a public address unless `allow_private` (development)."""
    require_admin(viewer)
    problems: list[Problem] = []
    url = events = description = None
    try:
        url = await _checked_url(changes.url or "", allow_private=allow_private)
    except BusinessError as error:
        problems += error.problems
    try:
        events = _checked_events(changes.events or ())
        description = _checked_description(changes.description)
    except BusinessError as error:
        problems += error.problems
    if problems or url is None or events is None:
        raise BusinessError(problems)
    secret = new_secret()
    webhook = Webhook(
        url=url,
        events=events,
        description=description,
        secret=secret,
        active=changes.active if changes.active is not None else True,
    )
    db.add(webhook)
    await db.flush()
    await db.refresh(webhook)
    return CreatedWebhook(webhook=webhook, secret=secret)


async def update_webhook(
    *,
    db: AsyncSession,
    viewer: Viewer | None,
    webhook_id: int,
    changes: WebhookChanges,
    allow_private: bool,
) -> Webhook:
    """Admin only: change an endpoint's URL, events, description or whether it is active."""
    require_admin(viewer)
    values: dict[str, object] = {}
    if changes.url is not None:
        values["url"] = await _checked_url(changes.url, allow_private=allow_private)
    if changes.events is not None:
        values["events"] = _checked_events(changes.events)
    if changes.description is not None:
        values["description"] = _checked_description(changes.description)
    if changes.active is not None:
        values["active"] = changes.active
    webhook = await db.get(Webhook, webhook_id, with_for_update=True)
    if webhook is None:
        raise BusinessError.one(ErrorCode.NOT_FOUND, "No such webhook.", ["id"])
    if values:
        await db.execute(
            update(Webhook).where(Webhook.id == webhook_id).values(**values, updated_at=_now())
        )
        await db.refresh(webhook)
    return webhook


def _now() -> ColumnElement[datetime]:
    return func.now()


async def delete_webhook(*, db: AsyncSession, viewer: Viewer | None, webhook_id: int) -> int:
    """Admin only: remove an endpoint and its deliveries (pending ones are never sent)."""
    require_admin(viewer)
    deleted = await db.scalar(delete(Webhook).where(Webhook.id == webhook_id).returning(Webhook.id))
    if deleted is None:
        raise BusinessError.one(ErrorCode.NOT_FOUND, "No such webhook.", ["id"])
    return int(deleted)


async def get_webhook(
    *, db: AsyncSession, viewer: Viewer | None, webhook_id: int
) -> Webhook | None:
    """Admin only: one endpoint, or None."""
    require_admin(viewer)
    return await db.get(Webhook, webhook_id)


async def list_webhooks(
    *, db: AsyncSession, viewer: Viewer | None, page: PageRequest
) -> Page[Webhook]:
    """Admin only: the endpoints, newest first."""
    require_admin(viewer)
    return await fetch_page(
        select(Webhook), db=db, sort_column=Webhook.created_at, id_column=Webhook.id,
        descending=True, page=page, timestamp=True,
    )  # fmt: skip


async def count_webhooks(*, db: AsyncSession, viewer: Viewer | None) -> int:
    """Admin only: how many endpoints there are."""
    require_admin(viewer)
    return int(await db.scalar(counting(select(Webhook))) or 0)


def _deliveries(webhook_id: int) -> Select[WebhookDelivery]:
    return select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)


async def list_deliveries(
    *, db: AsyncSession, viewer: Viewer | None, webhook_id: int, page: PageRequest
) -> Page[WebhookDelivery]:
    """Admin only: an endpoint's deliveries, newest first."""
    require_admin(viewer)
    return await fetch_page(
        _deliveries(webhook_id), db=db, sort_column=WebhookDelivery.created_at,
        id_column=WebhookDelivery.id, descending=True, page=page, timestamp=True,
    )  # fmt: skip


async def count_deliveries(*, db: AsyncSession, viewer: Viewer | None, webhook_id: int) -> int:
    """Admin only: how many deliveries an endpoint has."""
    require_admin(viewer)
    return int(await db.scalar(counting(_deliveries(webhook_id))) or 0)


async def replay_delivery(
    *, db: AsyncSession, viewer: Viewer | None, delivery_id: int
) -> WebhookDelivery:
    """Admin only: send a delivery again now, whatever its status, with the same webhook-id
    (receivers deduplicate on it). Its attempts count on from where they were; one that
    fails when it is over a day old is FAILED again."""
    require_admin(viewer)
    delivery: WebhookDelivery | None = await db.scalar(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=_now(), updated_at=_now())
        .returning(WebhookDelivery)
    )
    if delivery is None:
        raise BusinessError.one(ErrorCode.NOT_FOUND, "No such delivery.", ["id"])
    return delivery
