"""Disputes: their rows, and the evidence about accounts the engine gathers itself (for a dispute, a
departure or an arrival): touches and sourced opportunities per account and rep (owners, territories and
reps come from their own repositories)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from domain.errors import ConcurrentChange
from persistence.assigning import BOUNDARY_COLUMNS
from persistence.stores import Store
from persistence.tables import (
    AccountRow,
    ActivityRow,
    DisputeRow,
    OpportunityRow,
    RepRow,
    next_version,
)

DISPUTES = DisputeRow.__table__
ACTIVITIES = ActivityRow.__table__
OPPORTUNITIES = OpportunityRow.__table__
ACCOUNTS = AccountRow.__table__
REPS = RepRow.__table__
EVIDENCE_BATCH = 5_000  # account ids per query


class DisputeStore(Store):
    """`uow.disputes`."""

    async def add(self, row: dict[str, Any]) -> None:
        await (await self.connection()).execute(sa.insert(DISPUTES).values(tenant_id=self.tenant_id, **row))

    async def get(self, dispute_id: UUID) -> Any | None:
        stmt = sa.select(DISPUTES).where(DISPUTES.c.tenant_id == self.tenant_id, DISPUTES.c.id == dispute_id)
        return (await (await self.connection()).execute(stmt)).mappings().first()

    async def update(self, dispute_id: UUID, version: int, values: dict[str, Any]) -> None:
        """Change a dispute read at `version` (ConcurrentChange: another request changed it since)."""
        d = DISPUTES.c
        result = await (await self.connection()).execute(
            sa.update(DISPUTES)
            .where(d.tenant_id == self.tenant_id, d.id == dispute_id, d.version == version)
            .values(**values, **next_version(DISPUTES))
        )
        if not result.rowcount:
            raise ConcurrentChange.meanwhile("the dispute")

    async def page(
        self,
        size: int,
        after: UUID | None,
        state: str | None,
        account_id: UUID | None,
        overdue_on: date | None,
    ) -> list[Any]:
        """Disputes by id; `overdue_on`: only those still open with a deadline before that day."""
        d = DISPUTES.c
        stmt = sa.select(DISPUTES).where(d.tenant_id == self.tenant_id)
        if state is not None:
            stmt = stmt.where(d.state == state)
        if account_id is not None:
            stmt = stmt.where(d.account_id == account_id)
        if overdue_on is not None:
            stmt = stmt.where(d.state == "open", d.due_on < overdue_on)
        if after is not None:
            stmt = stmt.where(d.id > after)
        return list((await (await self.connection()).execute(stmt.order_by(d.id).limit(size))).mappings())

    async def log(self, opened_since: datetime | None, opened_before: datetime | None) -> list[Any]:
        """Every dispute opened in the period, oldest first, with the account's and the reps' names, the
        proposal's rule and whether the decision overrode it (the evidence is left out)."""
        d, a = DISPUTES.c, ACCOUNTS.c
        claimant, owner = REPS.alias("claimant"), REPS.alias("owner")
        stmt = (
            sa.select(
                d.id,
                d.account_id,
                a.external_id.label("account_external_id"),
                a.name.label("account_name"),
                d.role,
                d.basis,
                d.state,
                d.claimant_rep_id,
                claimant.c.name.label("claimant_name"),
                d.owner_rep_id,
                owner.c.name.label("owner_name"),
                d.opened_at,
                d.due_on,
                d.decided_at,
                d.proposal["rule"].as_string().label("rule"),
                d.decision["overridden"].as_boolean().label("overridden"),
                d.decision["owner_name"].as_string().label("decided_owner_name"),
            )
            .join(ACCOUNTS, a.id == d.account_id)
            .join(claimant, claimant.c.id == d.claimant_rep_id)
            .outerjoin(owner, owner.c.id == d.owner_rep_id)
            .where(d.tenant_id == self.tenant_id)
        )
        if opened_since is not None:
            stmt = stmt.where(d.opened_at >= opened_since)
        if opened_before is not None:
            stmt = stmt.where(d.opened_at < opened_before)
        return list((await (await self.connection()).execute(stmt.order_by(d.opened_at, d.id))).mappings())

    async def open_claims(self) -> list[Any]:
        """The open disputes (what a policy dry run rules on again), by id."""
        d = DISPUTES.c
        stmt = sa.select(DISPUTES).where(d.tenant_id == self.tenant_id, d.state == "open").order_by(d.id)
        return list((await (await self.connection()).execute(stmt)).mappings())

    async def live_claim(self, account_id: UUID, role: str, claimant_rep_id: UUID) -> UUID | None:
        """The open or decided dispute of this claimant on this account for this role, if one stands."""
        d = DISPUTES.c
        stmt = sa.select(d.id).where(
            d.tenant_id == self.tenant_id,
            d.account_id == account_id,
            d.role == role,
            d.claimant_rep_id == claimant_rep_id,
            d.state.in_(("open", "decided")),
        )
        return (await (await self.connection()).execute(stmt)).scalar_one_or_none()

    # ------------------------------------------------------------------ evidence

    async def account(self, account_id: UUID) -> Any | None:
        """The live account with the fields boundaries look at and its parent."""
        a = ACCOUNTS.c
        stmt = sa.select(a.id, a.parent_id, *(a[c] for c in BOUNDARY_COLUMNS)).where(
            a.tenant_id == self.tenant_id, a.id == account_id, a.deleted_at.is_(None)
        )
        return (await (await self.connection()).execute(stmt)).mappings().first()

    async def touches_by_rep(
        self, account_ids: Sequence[UUID], since: datetime, kinds: Sequence[str]
    ) -> dict[UUID, dict[UUID, tuple[int, datetime | None]]]:
        """account id -> rep id -> (the rep's meaningful touches on the account since `since`, their last
        meaningful touch ever), for every rep who touched one; one query per batch of ids."""
        c = ACTIVITIES.c
        out: dict[UUID, dict[UUID, tuple[int, datetime | None]]] = {}
        for batch in _batches(account_ids):
            stmt = (
                sa.select(
                    c.account_id,
                    c.rep_id,
                    sa.func.count().filter(c.occurred_at >= since),
                    sa.func.max(c.occurred_at),
                )
                .where(
                    c.tenant_id == self.tenant_id,
                    c.account_id.in_(batch),
                    c.rep_id.is_not(None),
                    c.kind.in_(list(kinds)),
                )
                .group_by(c.account_id, c.rep_id)
            )
            for r in await (await self.connection()).execute(stmt):
                out.setdefault(r[0], {})[r[1]] = (int(r[2]), r[3])
        return out

    async def engaged_by(self, account_id: UUID, since: datetime, kinds: Sequence[str]) -> int:
        """The account's meaningful touches since `since`, by any rep."""
        c = ACTIVITIES.c
        stmt = sa.select(sa.func.count()).where(
            c.tenant_id == self.tenant_id,
            c.account_id == account_id,
            c.kind.in_(list(kinds)),
            c.occurred_at >= since,
        )
        return int((await (await self.connection()).execute(stmt)).scalar_one())

    async def sourced_by_rep(self, account_ids: Sequence[UUID], since: date) -> dict[UUID, dict[UUID, int]]:
        """account id -> rep id -> the account's opportunities the rep brought: open ones, and ones won
        since `since`; one query per batch of ids."""
        o = OPPORTUNITIES.c
        out: dict[UUID, dict[UUID, int]] = {}
        for batch in _batches(account_ids):
            stmt = (
                sa.select(o.account_id, o.rep_id, sa.func.count())
                .where(
                    o.tenant_id == self.tenant_id,
                    o.account_id.in_(batch),
                    o.rep_id.is_not(None),
                    sa.or_(o.status == "open", sa.and_(o.status == "won", o.closed_on >= since)),
                )
                .group_by(o.account_id, o.rep_id)
            )
            for r in await (await self.connection()).execute(stmt):
                out.setdefault(r[0], {})[r[1]] = int(r[2])
        return out


def _batches(ids: Sequence[UUID]) -> Iterator[list[UUID]]:
    """The ids in lists of at most EVIDENCE_BATCH (a departure's book, or an arrival's whole plan)."""
    ids = list(ids)
    for start in range(0, len(ids), EVIDENCE_BATCH):
        yield ids[start : start + EVIDENCE_BATCH]
