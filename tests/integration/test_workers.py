"""Two uvicorn worker processes on one PostgreSQL database: a change made through one shows on the very
next lookup on the other, though each answers lookups from its own in-memory index.

Runs once (no `db_url` fixture, so no sqlite parameter to deselect), on the shared PostgreSQL server, in a
fresh database of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_ADMIN_DSN, create_pg_database, drop_pg_database
from tests.integration.test_outage import TIMEOUT, Calls, prepare_database, seed, serve, warm


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    url = await create_pg_database("territory_workers")
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.mark.pg_only
async def test_a_change_through_one_worker_shows_on_the_next_lookup_on_the_other(
    database_url: str, tmp_path: Path
):
    database = database_url.rsplit("/", 1)[1]
    keys = await prepare_database(database_url)
    call = Calls()
    async with (
        serve(database_url, tmp_path) as one,
        serve(database_url, tmp_path) as two,
        httpx.AsyncClient(base_url=one.base, timeout=TIMEOUT) as w1,
        httpx.AsyncClient(base_url=two.base, timeout=TIMEOUT) as w2,
    ):
        world = await seed(call, w1, keys.headers, n=2)
        ext = [a["external_id"] for a in world["accounts"]]
        reps = {world["rep_a"]["id"]: "Sarah Chen", world["rep_b"]["id"]: "James Okafor"}
        for w in (w1, w2):  # each worker builds its own index on first use
            await warm(PG_ADMIN_DSN, database, call, w, ext[0], keys.read_headers)

        async def lookup(w: httpx.AsyncClient, i: int) -> tuple[dict[str, Any], int]:
            r = await call(w, "GET", f"/v1/ownership/{ext[i]}", headers=keys.read_headers)
            assert r.status_code == 200, r.text
            assert r.headers["ownership-age"] == "0"
            return r.json(), int(r.headers["ownership-seq"])

        for w in (w1, w2):
            body, _ = await lookup(w, 0)
            assert body["rep"]["id"] == world["rep_a"]["id"]

        # a reassignment through one worker, seen by the very next lookup on the other (both ways, and
        # again, so that each worker applies changes to an index it already holds)
        current = world["assignments"][0]
        for writer, reader, rep_id in [
            (w1, w2, world["rep_b"]["id"]),
            (w2, w1, world["rep_a"]["id"]),
            (w1, w2, world["rep_b"]["id"]),
        ]:
            r = await call(
                writer,
                "PATCH",
                f"/v1/assignments/{current['id']}",
                json={"rep_id": rep_id},
                headers=keys.headers,
            )
            assert r.status_code == 200, r.text
            current = r.json()
            body, seq = await lookup(reader, 0)
            assert (body["rep"]["id"], body["rep"]["name"]) == (rep_id, reps[rep_id]), body
            assert body["status"] == "owned" and body["territory"]["id"] == world["territory"]["id"]
            mirror, mirror_seq = await lookup(writer, 0)
            assert mirror == body and mirror_seq == seq  # both workers at the same log position

        # an account rename, likewise, seen in single and batch lookups
        account = world["accounts"][1]
        for writer, reader, name in [(w1, w2, "Globex"), (w2, w1, "Globex East"), (w1, w2, "Initech")]:
            r = await call(
                writer, "PATCH", f"/v1/accounts/{account['id']}", json={"name": name}, headers=keys.headers
            )
            assert r.status_code == 200, r.text
            body, _ = await lookup(reader, 1)
            assert body["account"] == {"id": account["id"], "external_id": ext[1], "name": name}, body
            assert body["rep"]["id"] == world["rep_a"]["id"]
            r = await call(
                writer,
                "POST",
                "/v1/ownership/lookup",
                json={"external_ids": [ext[1], ext[0]]},
                headers=keys.read_headers,
            )
            assert [x["account"]["name"] for x in r.json()["results"]] == [name, "Acme 0"]
            r = await call(
                reader,
                "POST",
                "/v1/ownership/lookup",
                json={"external_ids": [ext[0], ext[1]]},
                headers=keys.read_headers,
            )
            assert r.status_code == 200, r.text
            assert [x["account"]["name"] for x in r.json()["results"]] == ["Acme 0", name]
        for server in (one, two):
            assert "Exception in ASGI application" not in server.log.read_text(errors="replace")
