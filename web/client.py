"""Who is on the other end of a request: the client's address and user agent."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from resolvers.auth import ClientInfo

# A browser's User-Agent is a few hundred characters; anything longer is not worth keeping.
MAX_USER_AGENT_LENGTH = 512


def client_info(request: Request) -> ClientInfo:
    return ClientInfo(
        address=client_address(request),
        user_agent=request.headers.get("user-agent", "")[:MAX_USER_AGENT_LENGTH] or None,
    )


def client_address(request: Request) -> str | None:
    """The client's IP address in canonical form (an IPv4-mapped IPv6 address as IPv4), or
    None when there is none or it is not an IP address: uvicorn takes it from
    `X-Forwarded-For` when the peer is a trusted proxy, and copies whatever string it finds."""
    if request.client is None:
        return None
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
