"""Ownership lookup, the hot path: a per-tenant in-memory snapshot checked against the ownership version.

Every change a lookup can see bumps the tenant's ownership version in the same transaction, and the
version is read with the API key on every request, so a lookup is never staler than the last commit,
on any worker. When the snapshot is stale the lookup is answered from SQL while one rebuild runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from api.services.context import Principal
from domain.errors import NotFound
from domain.model import Role, Scope
from persistence import ownership as queries
from persistence.ownership import OwnershipRow


@dataclass
class Snapshot:
    version: int
    plan_id: UUID | None
    # external id -> (account ref, {role: owner part})
    entries: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = field(default_factory=dict)
    encoded: dict[tuple[str, str], bytes] = field(default_factory=dict)


def _index(rows: Sequence[OwnershipRow]) -> dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]]:
    entries: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}
    for r in rows:
        entry = entries.get(r.external_id)
        if entry is None:
            entry = ({"id": r.account_id, "external_id": r.external_id, "name": r.account_name}, {})
            entries[r.external_id] = entry
        if r.role is not None:
            entry[1][r.role] = {
                "rep": {"id": r.rep_id, "name": r.rep_name, "email": r.rep_email},
                "territory": None
                if r.territory_id is None
                else {"id": r.territory_id, "name": r.territory_name},
                "since": r.since,
            }
    return entries


def _answer(external_id: str, role: Role, plan_id: UUID | None, entry: Any) -> dict[str, Any]:
    if entry is None:
        return {
            "external_id": external_id,
            "status": "not_found",
            "role": role.value,
            "plan_id": plan_id,
            "account": None,
            "territory": None,
            "rep": None,
            "since": None,
        }
    account, owners = entry
    owner = owners.get(role.value)
    if owner is None:
        return {
            "external_id": external_id,
            "status": "unassigned",
            "role": role.value,
            "plan_id": plan_id,
            "account": account,
            "territory": None,
            "rep": None,
            "since": None,
        }
    return {
        "external_id": external_id,
        "status": "owned",
        "role": role.value,
        "plan_id": plan_id,
        "account": account,
        **owner,
    }


def encode(data: Any) -> bytes:
    return orjson.dumps(data, default=str, option=orjson.OPT_UTC_Z)


class OwnershipService:
    def __init__(self, engine: AsyncEngine, use_snapshots: bool = True):
        self.engine = engine
        self.use_snapshots = use_snapshots
        self._snapshots: dict[UUID, Snapshot] = {}
        self._building: dict[UUID, asyncio.Task] = {}
        self.rebuilds = 0

    async def lookup(self, p: Principal, external_ids: Sequence[str], role: Role) -> list[dict[str, Any]]:
        p.require(Scope.READ)
        snap = self._snapshots.get(p.tenant_id)
        if snap is not None and snap.version == p.ownership_version:
            return [_answer(e, role, snap.plan_id, snap.entries.get(e)) for e in external_ids]
        if self.use_snapshots:
            self._schedule_rebuild(p.tenant_id, p.ownership_version)
        plan_id, rows = await queries.load_some(self.engine, p.tenant_id, list(dict.fromkeys(external_ids)))
        entries = _index(rows)
        return [_answer(e, role, plan_id, entries.get(e)) for e in external_ids]

    async def lookup_one_json(self, p: Principal, external_id: str, role: Role) -> bytes:
        """The single lookup as JSON bytes; from a current snapshot each answer is encoded once."""
        snap = self._snapshots.get(p.tenant_id)
        if snap is not None and snap.version == p.ownership_version and Scope.READ.value in p.scopes:
            cached = snap.encoded.get((external_id, role.value))
            if cached is None:
                entry = snap.entries.get(external_id)
                if entry is None:
                    raise NotFound(f"no account with external id {external_id!r}")
                cached = snap.encoded[(external_id, role.value)] = encode(
                    _answer(external_id, role, snap.plan_id, entry)
                )
            return cached
        return encode(await self.lookup_one(p, external_id, role))

    async def lookup_one(self, p: Principal, external_id: str, role: Role) -> dict[str, Any]:
        (answer,) = await self.lookup(p, [external_id], role)
        if answer["status"] == "not_found":
            raise NotFound(f"no account with external id {external_id!r}")
        return answer

    def _schedule_rebuild(self, tenant_id: UUID, seen_version: int) -> None:
        task = self._building.get(tenant_id)
        if task is not None and not task.done():
            return
        self._building[tenant_id] = asyncio.get_running_loop().create_task(self._rebuild(tenant_id))

    async def _rebuild(self, tenant_id: UUID) -> None:
        # The version is read before the data, so a snapshot is never labelled newer than what it holds.
        version, plan_id = await queries.read_state(self.engine, tenant_id)
        rows = await queries.load_all(self.engine, tenant_id, plan_id)
        self._snapshots[tenant_id] = Snapshot(version, plan_id, _index(rows))
        self.rebuilds += 1

    async def wait_for_rebuilds(self) -> None:
        for task in list(self._building.values()):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    async def close(self) -> None:
        for task in self._building.values():
            task.cancel()
        await self.wait_for_rebuilds()
