"""Webhook delivery throughput: events/s from the change log to a local receiver, on PostgreSQL.

Writes N ownership changes to a tenant's log, points E endpoints at a receiver served by uvicorn in another
process (it checks each signature), and times a Deliverer until every endpoint has every event.
Usage: .venv/bin/python bench/webhooks.py [--events 5000] [--endpoints 1,4] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from common import Server, drop_pg_database, emit, fresh_pg_database, pg_url

from api.services.context import AppContext, Principal
from api.services.delivery import Deliverer
from api.services.events import create_endpoint
from domain.changes import Owner, owner_changes
from persistence import changes as change_log
from persistence.db import make_engine, make_session_factory, upgrade
from persistence.tables import AccountRow, RepRow
from persistence.tenants import create_tenant

RECEIVER = textwrap.dedent(
    """
    import os
    from standardwebhooks import Webhook
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    SECRETS = {}
    COUNTS = {}

    async def hook(request):
        body = await request.body()
        name = request.path_params["name"]
        Webhook(SECRETS[name]).verify(body, dict(request.headers))
        COUNTS[name] = COUNTS.get(name, 0) + 1
        return Response(status_code=204)

    async def secret(request):
        SECRETS[request.path_params["name"]] = (await request.body()).decode()
        return Response(status_code=204)

    async def counts(request):
        return JSONResponse(COUNTS)

    async def healthz(request):
        return Response(status_code=200)

    def create_app():
        return Starlette(routes=[
            Route("/hook/{name}", hook, methods=["POST"]),
            Route("/secret/{name}", secret, methods=["PUT"]),
            Route("/counts", counts),
            Route("/healthz", healthz),
        ])
    """
)


async def load(url: str) -> tuple[AppContext, Principal]:
    engine = make_engine(url)
    await upgrade(engine)
    tenant = await create_tenant(engine, "bench")
    return AppContext(engine, make_session_factory(engine)), Principal(tenant, frozenset({"admin"}))


async def run(url: str, base: str, events: int, endpoints: int, concurrency: int) -> dict:
    ctx, p = await load(url)
    names = [f"e{k}-{uuid.uuid4().hex[:6]}" for k in range(endpoints)]  # the receiver outlives a run
    async with httpx.AsyncClient(base_url=base) as client:
        for name in names:
            e = await create_endpoint(ctx, p, f"{base}/hook/{name}", None, None)
            await client.put(f"/secret/{name}", content=e.secret)
        # the events come after the endpoints, so each endpoint is owed all of them
        now = datetime.now(UTC)
        async with ctx.engine.begin() as conn:
            rep, plan = uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                RepRow.__table__.insert(),
                [
                    {
                        "id": rep,
                        "tenant_id": p.tenant_id,
                        "external_id": "R",
                        "role": "AE",
                        "ramp_status": "ramped",
                        "name": "Rep",
                        "email": "r@x.io",
                        "expertise": [],
                    }
                ],
            )
            accounts = [uuid.uuid4() for _ in range(events)]
            await conn.execute(
                AccountRow.__table__.insert(),
                [
                    {
                        "id": a,
                        "tenant_id": p.tenant_id,
                        "external_id": f"B-{i}",
                        "name": f"C {i}",
                        "tags": [],
                        "stage": "cold",
                        "current_arr": 0.0,
                        "strategic": False,
                    }
                    for i, a in enumerate(accounts)
                ],
            )
            after = {(a, "AE"): Owner(rep, None, "rule", "boundary of East") for a in accounts}
            await change_log.append(conn, p.tenant_id, owner_changes({}, after, plan, now))
        deliverer = Deliverer(ctx, concurrency=concurrency)
        started = time.perf_counter()
        task = asyncio.create_task(deliverer.run())
        want = dict.fromkeys(names, events)
        while True:
            got = {k: v for k, v in (await client.get("/counts")).json().items() if k in want}
            if got == want or time.perf_counter() - started > 600:
                break
            await asyncio.sleep(0.05)
        took = time.perf_counter() - started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await ctx.engine.dispose()
    delivered = sum(got.values())
    return {
        "events": events,
        "endpoints": endpoints,
        "concurrency": concurrency,
        "delivered": delivered,
        "seconds": round(took, 2),
        "events_per_s": round(delivered / took),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--endpoints", default="1,4")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "receiver.py").write_text(RECEIVER)
        server = Server("receiver:create_app", {"PYTHONPATH": tmp})
        try:
            print(f"{'endpoints':>10}{'events':>10}{'seconds':>10}{'events/s':>10}")
            for endpoints in (int(x) for x in args.endpoints.split(",")):
                name = asyncio.run(fresh_pg_database("bench_webhooks"))
                try:
                    result = asyncio.run(
                        run(pg_url(name), server.base, args.events, endpoints, args.concurrency)
                    )
                finally:
                    asyncio.run(drop_pg_database(name))
                print(
                    f"{endpoints:>10}{result['delivered']:>10}{result['seconds']:>10}{result['events_per_s']:>10}"
                )
                emit({"bench": "webhooks", **result})
        finally:
            server.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
