"""Small builders for API tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

import httpx
from sqlalchemy import event


def uid(prefix: str = "X") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create(client: httpx.AsyncClient, headers: dict, path: str, **body: Any) -> dict:
    response = await client.post(f"/v1/{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def account(client: httpx.AsyncClient, headers: dict, **fields: Any) -> dict:
    body = {"external_id": uid("ACC"), "name": "Acme", **fields}
    return await create(client, headers, "accounts", **body)


async def rep(client: httpx.AsyncClient, headers: dict, **fields: Any) -> dict:
    ext = uid("REP")
    body = {"external_id": ext, "name": "Sarah Chen", "email": f"{ext.lower()}@example.com", **fields}
    return await create(client, headers, "reps", **body)


async def plan(client: httpx.AsyncClient, headers: dict, **fields: Any) -> dict:
    return await create(client, headers, "plans", **{"name": "FY27", **fields})


async def territory(client: httpx.AsyncClient, headers: dict, plan_id: str, **fields: Any) -> dict:
    return await create(client, headers, "territories", **{"plan_id": plan_id, "name": uid("T"), **fields})


async def owned_account(client: httpx.AsyncClient, headers: dict, **fields: Any) -> dict[str, dict]:
    """An account owned (AE) by a rep in a territory of a new active plan."""
    p = await plan(client, headers, state="active")
    r = await rep(client, headers)
    t = await territory(client, headers, p["id"], primary_rep_id=r["id"])
    a = await account(client, headers, **fields)
    asg = await create(
        client,
        headers,
        "assignments",
        plan_id=p["id"],
        account_id=a["id"],
        rep_id=r["id"],
        territory_id=t["id"],
        role="AE",
    )
    return {"plan": p, "rep": r, "territory": t, "account": a, "assignment": asg}


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of another app instance on the same database (as another worker process would be); its
    background tasks and connections are closed afterwards."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as client:
        try:
            yield client
        finally:
            await app.state.ctx.ownership.close()
            await app.state.ctx.keys.close()


@contextmanager
def count_statements(engine: Any) -> Iterator[list[str]]:
    """The SQL statements run on `engine` inside the block, by the code the block runs (and the tasks it
    starts), not by background work of the same app (the operations runner polls every second)."""
    seen: list[str] = []
    token = _COUNTING.set(seen)

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if _COUNTING.get() is seen:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        _COUNTING.reset(token)


_COUNTING: ContextVar[list[str] | None] = ContextVar("counting", default=None)


async def named_books(
    client: httpx.AsyncClient,
    headers: dict,
    plan_id: str,
    books: dict[str, tuple[dict, list[dict]]],
    named: bool = True,
) -> None:
    """Per book (name: (rep, account rows)): a territory of that name owned by the rep, naming its
    accounts (named=False: holding them by a rule, region = the book's name, without naming them); then
    every book's accounts are imported."""
    rows = []
    for name, (owner, mine) in books.items():
        boundary: dict[str, Any] = {"named_accounts": [r["external_id"] for r in mine]}
        if not named:
            boundary = {"rules": [{"field": "region", "op": "eq", "value": name}]}
            mine = [r | {"region": name} for r in mine]
        await territory(client, headers, plan_id, name=name, primary_rep_id=owner["id"], boundary=boundary)
        rows += mine
    r = await client.post("/v1/accounts/import", json=rows, headers=headers)
    assert r.status_code == 200, r.text


async def seed_003_plan(client: httpx.AsyncClient, headers: dict) -> tuple[dict, list[dict]]:
    """Seed 003's example, active: 20 enterprise and 500 SMB accounts with 10 reps, one named-account
    territory each; East (rep 0) holds 5 enterprise accounts, West (rep 1) 2, the others 1 or 2."""
    reps = [await rep(client, headers, name=f"Rep {i}") for i in range(10)]
    the_plan = await plan(client, headers)
    books = {}
    enterprise_of = [5, 2, 2, 2, 2, 2, 2, 1, 1, 1]
    for i, n in enumerate(enterprise_of):
        mine = [{"external_id": f"ENT-{i}-{k}", "name": "e", "current_arr": 600_000} for k in range(n)]
        mine += [{"external_id": f"SMB-{i}-{k}", "name": "s", "current_arr": 5_000} for k in range(50)]
        books[f"T{i}"] = (reps[i], mine)
    await named_books(client, headers, the_plan["id"], books)
    await client.post("/v1/scoring/run", headers=headers)
    placed = (await client.post(f"/v1/plans/{the_plan['id']}/assign-by-rules", headers=headers)).json()
    assert placed["assigned"] == 520
    await client.post(f"/v1/plans/{the_plan['id']}/activate", headers=headers)
    return the_plan, reps


async def imported(
    client: httpx.AsyncClient, headers: dict, rows: list[dict], kind: str = "accounts"
) -> dict:
    """Rows imported (they must all be valid): the import's report."""
    r = await client.post(f"/v1/{kind}/import", json=rows, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def ownership_history(client: httpx.AsyncClient, headers: dict, account_id: str) -> list[dict]:
    r = await client.get(f"/v1/accounts/{account_id}/ownership-history", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def draft_giving_it_to_a_new_rep(
    client: httpx.AsyncClient, headers: dict, owned: dict
) -> tuple[dict, dict]:
    """A draft copy of the owned account's plan in which a new rep owns it: (the new rep, the draft)."""
    new_rep = await rep(client, headers)
    draft = (await client.post(f"/v1/plans/{owned['plan']['id']}/copy", headers=headers)).json()
    asg = (await client.get(f"/v1/assignments?plan_id={draft['id']}", headers=headers)).json()["items"][0]
    await client.patch(f"/v1/assignments/{asg['id']}", json={"rep_id": new_rep["id"]}, headers=headers)
    return new_rep, draft
