"""`/api/webhooks`: the same endpoints and deliveries through REST, admin only."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from settings import Settings
from tests.helpers import Actor, an_order, count, drain, new_client, verified
from tests.webhooks.receiver import receiving
from web.state import AppState

RECEIVER = "https://93.184.215.14/hooks"


async def created(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/api/webhooks", json=body)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/webhooks/{out['id']}"
    return out


async def test_an_admin_manages_endpoints(admin: Actor, state: AppState) -> None:
    out = await created(admin.http, {"url": RECEIVER, "events": ["ORDER_PAID"]})
    assert out["secret"].startswith("whsec_")
    assert (out["url"], out["events"], out["active"], out["description"]) == (
        RECEIVER, ["ORDER_PAID"], True, None,
    )  # fmt: skip
    one = (await admin.http.get(f"/api/webhooks/{out['id']}")).json()
    assert one == {k: v for k, v in out.items() if k != "secret"}
    listed = (await admin.http.get("/api/webhooks")).json()
    assert listed == {"items": [one], "nextCursor": None}
    patched = await admin.http.patch(
        f"/api/webhooks/{out['id']}", json={"active": False, "events": ["ORDER_SHIPPED"]}
    )
    assert patched.status_code == 200
    assert (patched.json()["active"], patched.json()["events"]) == (False, ["ORDER_SHIPPED"])
    assert "secret" not in patched.json()
    assert (await admin.http.delete(f"/api/webhooks/{out['id']}")).status_code == 204
    gone = await admin.http.get(f"/api/webhooks/{out['id']}")
    assert (gone.status_code, gone.json()["code"]) == (404, "NOT_FOUND")
    assert (await admin.http.delete(f"/api/webhooks/{out['id']}")).status_code == 404
    assert await count(state, "webhooks") == 0


async def test_refusals_write_nothing(
    app: Starlette, admin: Actor, customer: Actor, state: AppState
) -> None:
    body = {"url": RECEIVER, "events": ["ORDER_PAID"]}
    for method, path in (("POST", "/api/webhooks"), ("GET", "/api/webhooks")):
        response = await customer.http.request(
            method, path, json=body if method == "POST" else None
        )
        assert (response.status_code, response.json()["code"]) == (403, "FORBIDDEN")
    async with new_client(app) as visitor:
        assert (await visitor.get("/api/webhooks")).status_code == 401
    for bad in ({"url": "ftp://93.184.215.14/", "events": ["ORDER_PAID"]},
                {"url": RECEIVER, "events": []}, {"url": RECEIVER, "events": ["ORDER_LOST"]},
                {"url": RECEIVER, "events": ["ORDER_PAID"], "secret": "mine"}):  # fmt: skip
        response = await admin.http.post("/api/webhooks", json=bad)
        assert response.status_code == 400, (bad, response.text)
    assert await count(state, "webhooks") == 0
    unknown = await admin.http.patch("/api/webhooks/V2ViaG9vazo5OQ", json={"active": True})
    assert unknown.status_code == 404
    replay = await admin.http.post("/api/webhooks/deliveries/RGVsaXZlcnk6OTk/replay")
    assert replay.status_code == 404
    wrong_kind = await admin.http.get("/api/webhooks/T3JkZXI6MQ")  # an Order ID
    assert wrong_kind.status_code == 404


async def test_deliveries_are_listed_and_replayed(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving([500]) as receiver:
        out = await created(admin.http, {"url": receiver.url, "events": ["ORDER_CREATED"]})
        await an_order(state, customer)
        await drain(state, settings)
        page = (await admin.http.get(f"/api/webhooks/{out['id']}/deliveries")).json()
        [delivery] = page["items"]
        assert page["nextCursor"] is None
        assert (delivery["event"], delivery["status"], delivery["attempts"]) == (
            "ORDER_CREATED", "SUCCEEDED", 2,
        )  # fmt: skip
        assert delivery["lastResponseCode"] == 200
        assert delivery["id"] == receiver.received[0].webhook_id
        replayed = await admin.http.post(f"/api/webhooks/deliveries/{delivery['id']}/replay")
        assert replayed.status_code == 202
        assert (replayed.json()["status"], replayed.json()["id"]) == ("PENDING", delivery["id"])
        await drain(state, settings)
        assert [r.webhook_id for r in receiver.received] == [delivery["id"]] * 3
        verified(out["secret"], receiver.received[2].headers, receiver.received[2].body)
    missing = await admin.http.get("/api/webhooks/V2ViaG9vazo5OQ/deliveries")
    assert missing.status_code == 404
