"""Events: the pull feed, and webhooks delivered to a real local HTTP receiver that checks every signature
(Standard Webhooks), in order, through a receiver outage, by two deliverers at once, with rotation, replay
and 410 Gone."""

import asyncio
import socket
import uuid

import pytest
import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.services.delivery import Deliverer
from tests import factories as f


class Receiver:
    """A webhook receiver on a real port: verifies each delivery with the secrets it knows; `status` is
    what it answers (200 to accept)."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.got: list[dict] = []  # verified deliveries: {id, type, data}
        self.bad = 0
        self.status = 200
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, dict(request.headers))
                break
            except Exception:
                continue
        else:
            self.bad += 1
            return Response(status_code=400)
        if self.status == 200:
            self.got.append({"id": request.headers["webhook-id"], **payload})
        return Response(status_code=self.status)

    async def __aenter__(self) -> "Receiver":
        app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):  # uvicorn has no event for "started"
            if self.server.started:
                break
            await asyncio.sleep(0.01)  # noqa: ASYNC110
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await self.task


async def drain(deliverer: Deliverer, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not await deliverer.deliver_once():
            return


@pytest.fixture
async def receiver():
    async with Receiver() as r:
        yield r


async def _endpoint(client, tenant, url, **body):
    r = await client.post("/v1/webhook-endpoints", json={"url": url, **body}, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_the_feed_lists_events_after_a_seq_with_names(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    page = (await client.get("/v1/events", headers=tenant.headers)).json()
    kinds = [e["type"] for e in page["items"]]
    assert kinds == ["plan.activated", "ownership.changed"]
    change = page["items"][1]
    assert change["data"]["to"]["rep"] == {
        "id": owned["rep"]["id"],
        "name": "Sarah Chen",
        "email": owned["rep"]["email"],
    }
    assert change["data"]["account"]["external_id"] == owned["account"]["external_id"]
    assert page["next_after"] == page["head"] and not page["has_more"]
    again = (await client.get(f"/v1/events?after={page['next_after']}", headers=tenant.headers)).json()
    assert again["items"] == []
    only = await client.get("/v1/events?types=plan.activated", headers=tenant.headers)
    assert [e["type"] for e in only.json()["items"]] == ["plan.activated"]
    small = (await client.get("/v1/events?page_size=1", headers=tenant.headers)).json()
    assert small["has_more"] and small["next_after"] < page["head"]
    bad = await client.get("/v1/events?types=nope", headers=tenant.headers)
    assert bad.status_code == 422
    huge = await client.get(f"/v1/events?after={2**63}", headers=tenant.headers)
    assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "after"


async def test_webhooks_are_signed_ordered_and_survive_a_receiver_outage(client, tenant, app, receiver):
    made = await _endpoint(client, tenant, receiver.url, types=["ownership.changed"])
    assert made["secret"].startswith("whsec_")
    shown = (await client.get(f"/v1/webhook-endpoints/{made['id']}", headers=tenant.headers)).json()
    assert shown["secret"] is None
    receiver.secrets = [made["secret"]]
    deliverer = Deliverer(app.state.ctx, retry_scale=0.0001)
    owned = await f.owned_account(client, tenant.headers)
    await drain(deliverer)
    assert [e["type"] for e in receiver.got] == ["ownership.changed"] and receiver.bad == 0
    # the receiver goes down: changes go on, deliveries fail and are retried; nothing is lost
    receiver.status = 503
    current = owned["assignment"]["id"]
    for i in range(4):
        rep = await f.rep(client, tenant.headers, name=f"Rep {i}")
        current = (
            await client.patch(
                f"/v1/assignments/{current}", json={"rep_id": rep["id"]}, headers=tenant.headers
            )
        ).json()["id"]
    await drain(deliverer, 3)
    state = (await client.get(f"/v1/webhook-endpoints/{made['id']}", headers=tenant.headers)).json()
    assert state["attempts"] >= 1 and state["next_attempt_at"] is not None and state["enabled"]
    receiver.status = 200
    for _ in range(20):
        await asyncio.sleep(0.02)  # the (scaled) retry time passes
        await drain(deliverer)
    names = [e["data"]["to"]["rep"]["name"] for e in receiver.got[1:]]
    assert names == ["Rep 0", "Rep 1", "Rep 2", "Rep 3"]
    seqs = [e["data"]["seq"] for e in receiver.got]
    assert seqs == sorted(seqs) and len(set(e["id"] for e in receiver.got)) == len(receiver.got)
    log = (await client.get(f"/v1/webhook-endpoints/{made['id']}/attempts", headers=tenant.headers)).json()
    assert {a["status_code"] for a in log["items"]} == {200, 503}
    # replay one event: the same webhook-id again
    first = receiver.got[0]
    r = await client.post(
        f"/v1/webhook-endpoints/{made['id']}/replay",
        json={"from_seq": first["data"]["seq"]},
        headers=tenant.headers,
    )
    assert r.status_code == 200
    await drain(deliverer)
    assert receiver.got[-1]["id"] == first["id"]
    # rotation: during the overlap both secrets sign, so a receiver knowing either verifies
    rotated = (
        await client.post(f"/v1/webhook-endpoints/{made['id']}/rotate-secret", headers=tenant.headers)
    ).json()
    assert rotated["secret"] != made["secret"]
    for secrets in ([rotated["secret"]], [made["secret"]]):
        receiver.secrets = secrets
        before = len(receiver.got)
        await client.patch(
            f"/v1/accounts/{owned['account']['id']}", json={"name": "x"}, headers=tenant.headers
        )
        await client.delete(f"/v1/assignments/{current}", headers=tenant.headers)
        current = (
            await f.create(
                client,
                tenant.headers,
                "assignments",
                plan_id=owned["plan"]["id"],
                account_id=owned["account"]["id"],
                rep_id=owned["rep"]["id"],
            )
        )["id"]
        await drain(deliverer)
        assert len(receiver.got) == before + 2 and receiver.bad == 0


async def test_410_gone_disables_the_endpoint_and_enabling_resumes(client, tenant, app, receiver):
    made = await _endpoint(client, tenant, receiver.url)
    receiver.secrets = [made["secret"]]
    receiver.status = 410
    deliverer = Deliverer(app.state.ctx, retry_scale=0.0001)
    await f.owned_account(client, tenant.headers)
    await drain(deliverer)
    state = (await client.get(f"/v1/webhook-endpoints/{made['id']}", headers=tenant.headers)).json()
    assert not state["enabled"] and "410" in state["disabled_reason"]
    receiver.status = 200
    await drain(deliverer)
    assert receiver.got == []
    await client.patch(f"/v1/webhook-endpoints/{made['id']}", json={"enabled": True}, headers=tenant.headers)
    await drain(deliverer)
    assert [e["type"] for e in receiver.got] == ["plan.activated", "ownership.changed"]


async def test_endpoints_are_admin_only_and_per_tenant(client, tenant, other_tenant, receiver):
    made = await _endpoint(client, tenant, receiver.url)
    r = await client.get(f"/v1/webhook-endpoints/{made['id']}", headers=other_tenant.headers)
    assert r.status_code == 404
    r = await client.get("/v1/webhook-endpoints", headers=tenant.read_headers)
    assert r.status_code == 403
    for url in ("ftp://x", "http://[", "http://host:port"):
        bad = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=tenant.headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "url", url
    r = await client.patch(
        f"/v1/webhook-endpoints/{made['id']}", json={"enabled": None}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "enabled"
    assert (
        await client.delete(f"/v1/webhook-endpoints/{made['id']}", headers=tenant.headers)
    ).status_code == 204


@pytest.mark.pg_only
async def test_two_deliverers_share_the_work_and_send_each_event_once(client, tenant, app, engine):
    async with Receiver() as one, Receiver() as two:
        endpoints = [await _endpoint(client, tenant, r.url) for r in (one, two)]
        for r, e in zip((one, two), endpoints, strict=True):
            r.secrets = [e["secret"]]
        await f.owned_account(client, tenant.headers)
        for i in range(10):
            await f.account(client, tenant.headers, name=f"A{i}")
            await f.rep(client, tenant.headers, name=f"R{i}")
        a, b = Deliverer(app.state.ctx), Deliverer(app.state.ctx)
        await asyncio.gather(drain(a), drain(b))
        for r in (one, two):
            ids = [e["id"] for e in r.got]
            assert len(ids) == len(set(ids)) == 2  # plan.activated, ownership.changed; no duplicate
        assert a.sent + b.sent == 4


async def test_graphql_events_feed(client, tenant):
    await f.owned_account(client, tenant.headers)
    q = """query($t: [EventType!]) {
             events(after: 0, types: $t) { items { seq type data } nextAfter hasMore } }"""
    r = await client.post(
        "/graphql", json={"query": q, "variables": {"t": ["OWNERSHIP_CHANGED"]}}, headers=tenant.headers
    )
    page = r.json()["data"]["events"]
    assert [e["type"] for e in page["items"]] == ["OWNERSHIP_CHANGED"]
    assert page["items"][0]["data"]["cause"] == "manual" and not page["hasMore"]


@pytest.mark.pg_only
async def test_a_running_deliverer_is_woken_by_each_commit(client, tenant, app, receiver):
    made = await _endpoint(client, tenant, receiver.url, types=["ownership.changed"])
    receiver.secrets = [made["secret"]]
    deliverer = Deliverer(app.state.ctx, concurrency=1, poll_seconds=60)  # it would poll once a minute
    running = asyncio.create_task(deliverer.run())
    try:
        await asyncio.sleep(0.5)  # its first look found nothing; it now waits
        await f.owned_account(client, tenant.headers)
        for _ in range(400):  # woken, it delivers at once; 20 s leaves room for a loaded machine
            if receiver.got:
                break
            await asyncio.sleep(0.05)
        assert [e["type"] for e in receiver.got] == ["ownership.changed"]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_url_delivery_cannot_send_to_is_refused_and_a_stored_one_fails_as_an_attempt(
    client, tenant, app
):
    for url in ("http://\u001a.example", "http://xn--a.example/hook"):
        r = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=tenant.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_url", url
    made = await _endpoint(client, tenant, "https://hooks.example.com/t")
    async with app.state.ctx.uow(tenant.tenant_id) as uow:  # stored before the check existed
        assert await uow.events.change_endpoint(uuid.UUID(made["id"]), 1, url="http://\u001a.example")
        await uow.commit()
    await f.owned_account(client, tenant.headers)
    deliverer = Deliverer(app.state.ctx, retry_scale=60.0)  # its retry is minutes away, however slow the run
    assert await deliverer.deliver_once()
    for _ in range(20):  # other tests' endpoints in this database may be due too: drain what is due
        if not await deliverer.deliver_once():
            break
    state = (await client.get(f"/v1/webhook-endpoints/{made['id']}", headers=tenant.headers)).json()
    # tried once; its retry is scheduled, so draining what was due did not claim it again
    assert state["attempts"] == 1 and state["next_attempt_at"] is not None
    attempts = await client.get(f"/v1/webhook-endpoints/{made['id']}/attempts", headers=tenant.headers)
    assert "InvalidURL" in attempts.json()["items"][0]["error"]
    await deliverer.aclose()
