"""Segment changes: the queue of accounts whose new segment waits for the review (rows of
`segment_changes`, with the account's name for reading them), and the writes that queue, update, cancel
and apply them set-wise (an import may queue thousands)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from persistence.assigning import BOUNDARY_COLUMNS
from persistence.stores import Store
from persistence.tables import AccountRow, SegmentChangeRow, next_version

CHANGES = SegmentChangeRow.__table__
ACCOUNTS = AccountRow.__table__
CHUNK = 5_000
APPLIED = ("applied_at", "plan_id", "territory_id", "rep_id", "outcome", "reason")


class SegmentChangeStore(Store):
    """`uow.segment_changes`."""

    def _listed(self) -> sa.Select:
        c, a = CHANGES.c, ACCOUNTS.c
        return (
            sa.select(CHANGES, a.external_id, a.name.label("account_name"))
            .select_from(CHANGES.join(ACCOUNTS, a.id == c.account_id))
            .where(c.tenant_id == self.tenant_id)
        )

    async def pending_for(self, account_ids: Collection[UUID]) -> dict[UUID, Any]:
        """account id -> its pending change, for these accounts."""
        c = CHANGES.c
        ids, out = list(account_ids), {}
        conn = await self.connection()
        for start in range(0, len(ids), CHUNK):
            stmt = sa.select(CHANGES).where(
                c.tenant_id == self.tenant_id,
                c.state == "pending",
                c.account_id.in_(ids[start : start + CHUNK]),
            )
            out |= {r["account_id"]: r for r in (await conn.execute(stmt)).mappings()}
        return out

    async def add(self, rows: list[dict[str, Any]]) -> None:
        conn = await self.connection()
        for start in range(0, len(rows), CHUNK):
            await conn.execute(
                sa.insert(CHANGES), [{"tenant_id": self.tenant_id, **r} for r in rows[start : start + CHUNK]]
            )

    async def cancel_for(self, account_id: UUID) -> None:
        """Cancel the account's waiting change (the account was removed)."""
        c = CHANGES.c
        await (await self.connection()).execute(
            sa.update(CHANGES)
            .where(c.tenant_id == self.tenant_id, c.account_id == account_id, c.state == "pending")
            .values(state="cancelled")
        )

    async def cancel(self, ids: Sequence[UUID]) -> None:
        """Cancel these changes where they still wait."""
        conn = await self.connection()
        for start in range(0, len(ids), CHUNK):
            await conn.execute(
                sa.update(CHANGES)
                .where(
                    CHANGES.c.tenant_id == self.tenant_id,
                    CHANGES.c.state == "pending",
                    CHANGES.c.id.in_(list(ids[start : start + CHUNK])),
                )
                .values(state="cancelled")
            )

    async def retarget(self, targets: dict[UUID, str]) -> None:
        """Pending change id -> the segment it now goes to."""
        conn = await self.connection()
        for change_id, segment in targets.items():
            await conn.execute(
                sa.update(CHANGES)
                .where(
                    CHANGES.c.tenant_id == self.tenant_id,
                    CHANGES.c.state == "pending",
                    CHANGES.c.id == change_id,
                )
                .values(to_segment=segment)
            )

    async def applied(self, rows: Sequence[dict[str, Any]]) -> None:
        """Mark changes applied, each with its own outcome (rows of id and the columns APPLIED names)."""
        if rows:
            c = CHANGES.c
            stmt = (
                sa.update(CHANGES)
                .where(c.tenant_id == self.tenant_id, c.state == "pending", c.id == sa.bindparam("b_id"))
                .values(state="applied", **{k: sa.bindparam(f"b_{k}") for k in APPLIED})
            )
            params = [{f"b_{k}": r[k] for k in ("id", *APPLIED)} for r in rows]
            await (await self.connection()).execute(stmt, params)

    async def set_segments(self, segments: dict[UUID, str], now: datetime) -> None:
        """Give accounts their new segment of record (account id -> segment)."""
        a = ACCOUNTS.c
        stmt = (
            sa.update(ACCOUNTS)
            .where(a.tenant_id == self.tenant_id, a.id == sa.bindparam("b_id"))
            .values(segment=sa.bindparam("b_segment"), updated_at=now, **next_version(ACCOUNTS))
        )
        params = [{"b_id": k, "b_segment": v} for k, v in segments.items()]
        if params:
            await (await self.connection()).execute(stmt, params)

    async def segments(self, account_ids: Collection[UUID]) -> dict[UUID, str | None]:
        """account id -> its segment of record."""
        a = ACCOUNTS.c
        ids, out = list(account_ids), {}
        conn = await self.connection()
        for start in range(0, len(ids), CHUNK):
            stmt = sa.select(a.id, a.segment).where(
                a.tenant_id == self.tenant_id, a.id.in_(ids[start : start + CHUNK])
            )
            out |= {r.id: r.segment for r in await conn.execute(stmt)}
        return out

    async def page(
        self,
        size: int,
        after: UUID | None,
        state: str | None,
        account_id: UUID | None,
        due_by: date | None,
    ) -> list[Any]:
        """Changes by id, with their account's external id and name; `due_by`: due on or before that day."""
        c = CHANGES.c
        stmt = self._listed()
        if state is not None:
            stmt = stmt.where(c.state == state)
        if account_id is not None:
            stmt = stmt.where(c.account_id == account_id)
        if due_by is not None:
            stmt = stmt.where(c.due_on <= due_by)
        if after is not None:
            stmt = stmt.where(c.id > after)
        return list((await (await self.connection()).execute(stmt.order_by(c.id).limit(size))).mappings())

    async def pending_accounts(self) -> list[dict[str, Any]]:
        """The pending changes of live accounts, each with its account's fields boundaries look at
        (`account`), by account."""
        c, a = CHANGES.c, ACCOUNTS.c
        stmt = (
            sa.select(CHANGES, *(a[k].label(f"a_{k}") for k in BOUNDARY_COLUMNS))
            .select_from(CHANGES.join(ACCOUNTS, a.id == c.account_id))
            .where(c.tenant_id == self.tenant_id, c.state == "pending", a.deleted_at.is_(None))
        )
        out = []
        for r in (await (await self.connection()).execute(stmt.order_by(c.account_id))).mappings():
            row = dict(r)
            account = {k: row.pop(f"a_{k}") for k in BOUNDARY_COLUMNS}
            out.append(row | {"account": account | {"id": row["account_id"]}})
        return out
