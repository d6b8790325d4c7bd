"""Assignment by rules (docs/domain.md, "Boundaries and assignment by rules"): every account of the tenant
to its owner in a draft plan by the tenant's rules-of-engagement policy, among the reps the boundaries, the
owner of record and existing relationships make candidates; each assignment names the rule that decided.
Unmatched accounts and ties are listed, never dropped; locked assignments never move; history is kept (a
move ends the old assignment). A book above ASSIGN_BY_RULES_OPERATION_ABOVE accounts, or one the client
asks for so, runs as an operation: progress per chunk, cancelled between chunks, one commit at the end."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

from uuid_utils.compat import uuid7

from api.services import runner
from api.services.assignments import AssignByRulesRead
from api.services.common import found
from api.services.context import AppContext, Principal, tenant_settings
from api.services.cpu import off_loop
from api.services.engagement import current_policy, relationship_since
from api.services.operations import OperationRead, get_operation
from domain.assigning import Book, ChunkRuling, Evidence, RuleRep, decide_chunk
from domain.boundaries import RuleTerritory, describe_boundary, match_boundaries, parse_boundary
from domain.criteria import fields_of
from domain.defaults import ASSIGN_BY_RULES_OPERATION_ABOVE, MAX_LISTED_ACCOUNTS
from domain.engagement import Policy
from domain.errors import Code, Conflict, FieldError, ValidationFailed
from domain.model import AssignmentReason, PlanState, Role, Scope, departed
from domain.optimiser import Cancelled

CHUNK = 10_000
DECIDING = 0.8  # the share of an operation's progress that deciding takes; writing the rest


class _Owner(NamedTuple):
    id: Any
    territory_id: Any
    rep_id: Any
    locked: bool


def _owner(account: dict[str, Any]) -> _Owner | None:
    """The account's current owner in the plan, read with it (persistence.assigning.accounts_for_rules)."""
    if account["owner_assignment_id"] is None:
        return None
    return _Owner(
        account["owner_assignment_id"],
        account["owner_territory_id"],
        account["owner_rep_id"],
        bool(account["owner_locked"]),
    )


def _brief(account: dict[str, Any]) -> dict[str, Any]:
    return {"account_id": account["id"], "external_id": account["external_id"], "name": account["name"]}


async def _owners(uow: Any, territories: list[Any], today: date) -> tuple[dict[Any, Any], dict[Any, RuleRep]]:
    """territory id -> the primary rep who owns its accounts: none when it has no primary rep, or when its
    primary rep has left (an end date before today; docs/domain.md, Departures and arrivals); and those
    reps, the only ones who can be given an account."""
    ids = list({t.primary_rep_id for t in territories} - {None})
    reps = {r.id: r for r in await uow.reps.get_many(ids) if not departed(r.end_date, today)}
    owners = {t.id: t.primary_rep_id for t in territories if t.primary_rep_id in reps}
    return owners, {r.id: RuleRep(r.id, r.name, r.start_date) for r in reps.values()}


@dataclass(frozen=True)
class RuleSetup:
    """What ruling a plan's accounts needs besides the accounts: its territories with their boundaries,
    who owns each territory, the reps who can be given an account, the notes of boundary placements, the
    account fields the boundaries read and the tenant's meaningful activity kinds."""

    territories: list[RuleTerritory]
    info: dict[Any, Any]
    owners: dict[Any, Any]
    reps: dict[Any, RuleRep]
    notes: dict[Any, str]
    fields: set[str]
    kinds: Sequence[str]


async def rule_setup(uow: Any, plan_id: UUID, now: datetime) -> RuleSetup:
    rows = await uow.assigning.plan_territories(plan_id)
    territories, errors = [], []
    for t in rows:
        try:
            territories.append(RuleTerritory(t.id, t.name, t.priority, parse_boundary(t.boundary)))
        except ValidationFailed as exc:  # stored before boundaries were checked
            errors += [FieldError(f"territories[{t.name}].{e.field}", e.code, e.message) for e in exc.errors]
    if errors:
        raise ValidationFailed("a territory's boundary is not valid", errors, code=Code.INVALID_BOUNDARY)
    owners, reps = await _owners(uow, rows, now.date())
    return RuleSetup(
        territories,
        {t.id: t for t in rows},
        owners,
        reps,
        {t.id: f"boundary of {t.name}: {describe_boundary(t.boundary)}" for t in rows},
        set().union(*(fields_of(t.boundary.rules) for t in territories if t.boundary.rules is not None)),
        (await tenant_settings(uow)).coverage.meaningful_kinds,
    )


async def rule_chunks(
    uow: Any,
    setup: RuleSetup,
    plan_id: UUID,
    role: Role,
    policies: Sequence[Policy],
    now: datetime,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[tuple[list[dict[str, Any]], list[ChunkRuling]]]:
    """The plan's accounts a chunk at a time, each chunk ruled under every policy of `policies` (the same
    boundaries, each policy's evidence over its own relationship window). The ruling is computed in a
    worker thread; `meanwhile` runs on the connection during it (the previous chunk's writes: the
    database writes one chunk while this process decides the next), and the next chunks are read
    meanwhile on a connection of their own. Close it (contextlib.aclosing) when leaving early."""
    windows = [relationship_since(policy, now) for policy in policies]
    reads = uow.assigning.chunks_with_evidence(plan_id, role.value, CHUNK, setup.fields, windows, setup.kinds)
    async with aclosing(reads):
        async for chunk, found in reads:
            evidence = {since: Evidence(*found[since]) for since in windows}
            yield chunk, await _rule(chunk, evidence, setup, policies, windows, now, meanwhile)


async def _rule(
    chunk: list[dict[str, Any]],
    evidence: dict[datetime, Evidence],
    setup: RuleSetup,
    policies: Sequence[Policy],
    windows: list[datetime],
    now: datetime,
    meanwhile: Callable[[], Awaitable[None]] | None,
) -> list[ChunkRuling]:
    """One chunk ruled under each policy, in a worker thread, with `meanwhile` on the connection."""

    def rule() -> list[ChunkRuling]:
        matches = match_boundaries(enumerate(chunk), setup.territories)  # keyed by the chunk's index
        return [
            decide_chunk(
                Book(chunk, matches, setup.owners, setup.reps, evidence[since], policy),
                now.date(),
                setup.notes,
            )
            for policy, since in zip(policies, windows, strict=True)
        ]

    ruling = off_loop(rule)
    if meanwhile is None:
        return await ruling
    rulings, _ = await asyncio.gather(ruling, meanwhile())
    return rulings


async def _write(
    uow: Any,
    p: Principal,
    plan_id: UUID,
    role: Role,
    now: datetime,
    ends: list[Any],
    adds: list[tuple[Any, Any, Any, str]],
) -> None:
    """End the moved accounts' assignments, then start their new ones (one current owner an account)."""
    await uow.assigning.end_assignments(ends, now)
    for at in range(0, len(adds), CHUNK):
        await uow.assigning.add_assignments(
            [
                {
                    "id": uuid7(),
                    "tenant_id": p.tenant_id,
                    "plan_id": plan_id,
                    "account_id": account_id,
                    "territory_id": territory_id,
                    "rep_id": rep_id,
                    "role": role.value,
                    "locked": False,
                    "reason": AssignmentReason.RULE.value,
                    "note": note,
                    "valid_from": now,
                }
                for account_id, territory_id, rep_id, note in adds[at : at + CHUNK]
            ]
        )


def respond_async(prefer: str | None) -> bool:
    """RFC 7240: `Prefer: respond-async` asks for the operation whatever the book's size."""
    tokens = (part.split(";")[0].strip().lower() for part in (prefer or "").split(","))
    return "respond-async" in tokens


async def assign_plan_by_rules(
    ctx: AppContext, p: Principal, plan_id: UUID, role: Role = Role.AE, prefer: str | None = None
) -> AssignByRulesRead | OperationRead:
    """The answer at once for a small book; an operation (its result the same answer) for a book above
    ASSIGN_BY_RULES_OPERATION_ABOVE live accounts, or when `prefer` (the Prefer header) says respond-async."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        plan = found(await uow.plans.get(plan_id), "plan", plan_id)
        size = await uow.history.live_accounts()
    _check_draft(plan)
    if respond_async(prefer) or size > ASSIGN_BY_RULES_OPERATION_ABOVE:
        op = await runner.start(ctx, p, "assign_by_rules", plan_id, {"role": role.value})
        return await get_operation(ctx, p, op)
    return await assign_by_rules_now(ctx, p, plan_id, role)


@runner.handles("assign_by_rules")
async def run_assign_by_rules(
    ctx: AppContext, p: Principal, plan_id: UUID | None, request: dict[str, Any], reporter: Any
) -> dict[str, Any]:
    """The operation, in a worker: on its own engine in a thread, so that the worker's event loop keeps
    answering lookups; a cancel stops it between chunks and nothing is kept."""
    assert plan_id is not None

    async def go(own: AppContext) -> AssignByRulesRead:
        return await assign_by_rules_now(
            own, p, plan_id, Role(request.get("role", Role.AE.value)), reporter.progress, reporter.should_stop
        )

    return (await runner.off_the_loop(ctx, go)).model_dump(mode="json")  # stored as the operation's result


def _check_draft(plan: Any) -> None:
    if plan.state != PlanState.DRAFT:
        raise Conflict(
            "rules assign accounts in a draft plan; copy the active plan into a draft, then activate it",
            code=Code.PLAN_NOT_DRAFT,
        )


@dataclass
class _Tally:
    """What a run by rules did, chunk by chunk: the counts, the rules that decided, the first
    MAX_LISTED_ACCOUNTS of each list (with its whole count), and the assignments to end and to start."""

    info: dict[Any, Any]
    counts: Counter[str] = field(
        default_factory=lambda: Counter(
            dict.fromkeys(("accounts", "assigned", "moved", "unchanged", "locked"), 0)
        )
    )
    by_rule: Counter[str] = field(default_factory=Counter)
    listed: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"unmatched": [], "conflicts": [], "territories_without_owner": []}
    )
    listed_count: Counter[str] = field(default_factory=Counter)
    ends: list[Any] = field(default_factory=list)
    adds: list[tuple[Any, Any, Any, str]] = field(default_factory=list)  # account, territory, rep, note

    def _list(self, name: str, item: Callable[[], dict[str, Any]]) -> None:
        self.listed_count[name] += 1
        if len(self.listed[name]) < MAX_LISTED_ACCOUNTS:
            self.listed[name].append(item())

    def add(self, chunk: list[dict[str, Any]], ruling: ChunkRuling) -> None:
        self.counts["accounts"] += len(chunk)
        for k in ruling.boundaries.unmatched:
            self._list("unmatched", lambda k=k: _brief(chunk[k]))
        for k, tied in ruling.boundaries.conflicts.items():
            self._list(
                "conflicts",
                lambda k=k, tied=tied: (
                    _brief(chunk[k])
                    | {
                        "territories": [
                            {"territory_id": t, "name": self.info[t].name, "priority": self.info[t].priority}
                            for t in tied
                        ]
                    }
                ),
            )
        for k, territory_id in ruling.ownerless.items():
            self._list(
                "territories_without_owner",
                lambda k=k, t=territory_id: (
                    _brief(chunk[k]) | {"territory_id": t, "territory_name": self.info[t].name}
                ),
            )
        for k, placed in ruling.placed.items():
            owner = _owner(chunk[k])
            if owner is not None and owner.locked:
                self.counts["locked"] += 1
                continue
            self.by_rule[placed.rule] += 1
            if placed.territory_id is None or (
                owner is not None
                and (owner.territory_id, owner.rep_id) == (placed.territory_id, placed.rep_id)
            ):
                self.counts["unchanged"] += 1
                continue
            if owner is not None:
                self.ends.append(owner.id)
            self.counts["moved" if owner is not None else "assigned"] += 1
            self.adds.append((chunk[k]["id"], placed.territory_id, placed.rep_id, placed.note))

    def answer(self, plan_id: UUID, role: Role) -> AssignByRulesRead:
        return AssignByRulesRead.model_validate(
            {
                "plan_id": plan_id,
                "role": role.value,
                **self.counts,
                "by_rule": dict(sorted(self.by_rule.items())),
                **{
                    name: {"count": self.listed_count[name], "accounts": accounts}
                    for name, accounts in self.listed.items()
                },
            }
        )


async def assign_by_rules_now(
    ctx: AppContext,
    p: Principal,
    plan_id: UUID,
    role: Role = Role.AE,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AssignByRulesRead:
    p.require(Scope.WRITE)
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        plan = found(await uow.plans.get(plan_id), "plan", plan_id)
        _check_draft(plan)
        total = await uow.history.live_accounts() if progress else 0
        setup = await rule_setup(uow, plan_id, now)
        policy, _ = await current_policy(uow)
        tally = _Tally(setup.info)
        # PostgreSQL writes each chunk while the next is decided, in the one transaction (a cancel keeps
        # nothing); SQLite writes once everything is decided: until then the run holds no write lock, and
        # its one writer stays free for the operation's heartbeat and a cancel
        overlap = await uow.assigning.writes_while_deciding()

        async def flush() -> None:
            await _write(uow, p, plan_id, role, now, tally.ends, tally.adds)
            tally.ends.clear()
            tally.adds.clear()

        chunks = rule_chunks(uow, setup, plan_id, role, (policy,), now, flush if overlap else None)
        async with aclosing(chunks):
            async for chunk, (ruling,) in chunks:
                if should_stop is not None and should_stop():
                    raise Cancelled
                tally.add(chunk, ruling)
                if progress is not None:
                    done = tally.counts["accounts"]
                    progress(
                        DECIDING * done / max(total, done, 1),
                        f"{done:,} of {max(total, done):,} accounts decided",
                    )
        if should_stop is not None and should_stop():
            raise Cancelled
        if progress is not None:
            progress(DECIDING, f"writing {len(tally.adds):,} assignments")
        await flush()
        await uow.commit()
    return tally.answer(plan_id, role)
