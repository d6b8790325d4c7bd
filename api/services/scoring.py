"""Scoring runs: score, potential and tier of every account, stored with the settings version."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.services import runner
from api.services.common import found
from api.services.context import AppContext, Principal, tenant_settings, versioned_settings
from api.services.cpu import collector_paused, off_loop
from api.services.runner import coalesced
from domain.defaults import TenantSettings
from domain.errors import Code, NotFound
from domain.model import OpportunityStatus, Scope, Segment
from domain.ports import SetBasedUnitOfWork
from domain.scoring import (
    FACTORS,
    ScoringBasis,
    WinRate,
    account_potential,
    basis_of,
    describe_moves,
    expansion_estimate,
    full_rescoring_reason,
    moved_win_rates,
    score_account,
    win_rates,
)
from domain.tiering import TierBoundaries, absolute, boundaries_at, matrix_cell, tier_of, tier_positions


class FactorRead(BaseModel):
    factor: str
    value: float | None = Field(description="1-5; null when its source fields are missing")
    weight: float
    contribution: float = Field(description="this factor's part of the score; the parts add up to the score")
    source_fields: list[str]
    description: str


class MatrixCellRead(BaseModel):
    """The tiering matrix: revenue band (current ARR) x growth potential (the whitespace factor)."""

    revenue_band: Literal["enterprise", "mid_market", "smb"] = Field(
        description="enterprise > $500K ARR, mid_market $100K-500K, smb below"
    )
    growth: Literal["high", "medium", "low"]
    rep_type: str
    strategy: str


class AccountScoreRead(BaseModel):
    account_id: UUID
    score: float = Field(description="composite score, 1-5")
    confidence: float = Field(description="share of the scoring model's weight that had data, 0-1")
    potential: float = Field(description="current ARR + expansion estimate x win probability, dollars")
    win_probability: float
    expansion_estimate: float = Field(
        description="the expansion estimate the potential used: the account's, or derived from its growth"
    )
    expansion_derived: bool = Field(
        description="true when the account gave none and it was derived: current ARR x (1 + whitespace "
        "units) x (1 + growth rate)^horizon - current ARR (settings potential)"
    )
    potential_basis: str = Field(description="the potential's arithmetic in words")
    tier: int = Field(description="1 = top 20% by potential, 2 = next 30%, 3 = the rest (tenant settings)")
    icp_fit: bool
    settings_version: int = Field(description="the settings version that made this result")
    computed_at: datetime
    factors: list[FactorRead]
    missing_fields: list[str]
    matrix: MatrixCellRead


class WinRateRead(BaseModel):
    rate: float
    won: int
    lost: int
    source: str = Field(description="history (the tenant's closed opportunities) or default (too few)")


class ScoringRunRead(BaseModel):
    scored: int = Field(description="accounts with a score after the run: the live book")
    rescored: int = Field(
        description="accounts this run computed: every one in a full run, else those new or changed since "
        "the last run"
    )
    retiered: int = Field(
        description="accounts not rescored whose tier changed because the tier bounds moved with the book"
    )
    revalued: int = Field(
        description="accounts not rescored whose potential was revalued at their segment's moved win rate"
    )
    removed: int = Field(description="scores of accounts deleted since the last run, removed")
    full: bool = Field(description="true when every account was rescored (see reason)")
    reason: str = Field(description="why the run rescored every account, or only the changed ones")
    settings_version: int
    tiers: dict[str, int]
    icp_fit: int
    win_rates: dict[str, WinRateRead]
    seconds: float
    locked_seconds: float = Field(
        description="of `seconds`, how long the run held the tenant's scoring lock: on SQLite the database's "
        "one write lock, which every other write waited for meanwhile"
    )


CHUNK = 10_000
log = logging.getLogger("territory")
_DESCRIPTIONS = {f.name: (f.source_fields, f.description) for f in FACTORS}
UNTIERED = 0  # the tier an incremental run writes first; the run's retier step gives the real one


def _segment(value: str | None) -> Segment | None:
    return Segment(value) if value else None


async def tenant_win_rates(
    uow: SetBasedUnitOfWork, settings: TenantSettings
) -> dict[Segment | None, WinRate]:
    """Win rate per segment from the tenant's closed opportunities (the default where there are too few)."""
    counts = await uow.scoring.closed_opportunity_counts()
    closed = itertools.chain.from_iterable(
        itertools.repeat((_segment(segment), OpportunityStatus(status)), n) for segment, status, n in counts
    )
    return win_rates(closed, settings.win_rates)


async def run_scoring(ctx: AppContext, p: Principal, full: bool = False) -> ScoringRunRead:
    """Score, value and tier the tenant's book: the accounts changed since the last run, or every one
    (`full`, or when the settings or the win rates changed). Single flight per tenant: a request while a
    run is in flight in this process joins the next run (api/services/runner.py, `coalesced`), so ten at
    once make at most two runs and every answer reflects what was written before it was asked; runs in
    other processes take turns through the database lock."""
    p.require(Scope.WRITE)

    async def run() -> ScoringRunRead:
        with collector_paused():  # its accounts and score rows would make every collection scan them
            return await score_book(ctx, p, full)

    return await coalesced(ctx.flights, ("scoring", p.tenant_id, full), run)


def _stored_basis(row: dict[str, Any] | None) -> ScoringBasis | None:
    if row is None:
        return None
    return ScoringBasis(row["settings_version"], row["win_rates"], row["revision"])


@dataclasses.dataclass(frozen=True)
class _Run:
    """What a run reads once and every step uses."""

    uow: SetBasedUnitOfWork
    p: Principal
    settings: TenantSettings
    rates: dict[Segment | None, WinRate]
    version: int
    now: datetime


@dataclasses.dataclass
class _Counts:
    rescored: int = 0
    retiered: int = 0
    revalued: int = 0
    removed: int = 0


async def score_book(ctx: AppContext, p: Principal, full: bool = False) -> ScoringRunRead:
    """One run, in one transaction (docs/domain.md, "Scoring after an import"): every account when `full`
    or when the settings or the rules changed since the stored scores (their basis), else only what
    changed since (_rescore_changes)."""
    started = time.perf_counter()
    ahead = None if full else await _score_changes_ahead(ctx, p)
    async with ctx.uow(p.tenant_id) as uow:
        await uow.scoring.exclusive("scoring")  # one run of a tenant at a time; the next waits, then runs
        locked = time.perf_counter()
        settings, version = await versioned_settings(uow)
        now = ctx.clock.now()
        rates = await tenant_win_rates(uow, settings)
        basis = basis_of(version, rates)
        stored = _stored_basis(await uow.scoring.read_basis())
        reason = "a full run was asked for" if full else full_rescoring_reason(stored, basis)
        run = _Run(uow, p, settings, rates, version, now)
        incremental = reason is None and stored is not None
        if incremental:
            made = ahead.rows if ahead is not None and ahead.basis == basis else None
            counts, reason = await _rescore_changes(run, stored, basis, made)
        else:
            counts = _Counts(rescored=await _rescore_all(run))
        tiers, icp_fit = await uow.scoring.tier_counts()
        await uow.scoring.write_basis(
            {
                "settings_version": basis.settings_version,
                "win_rates": dict(basis.win_rates),
                "revision": basis.revision,
                "computed_at": now,
            }
        )
        await uow.commit()
        locked = time.perf_counter() - locked
    return ScoringRunRead.model_validate(
        {
            "scored": sum(tiers.values()),
            **dataclasses.asdict(counts),
            "full": not incremental,
            "reason": reason,
            "settings_version": version,
            "tiers": {str(t): n for t, n in tiers.items()},
            "icp_fit": icp_fit,
            "win_rates": {
                str(s.value if s else "unknown"): {
                    "rate": r.rate,
                    "won": r.won,
                    "lost": r.lost,
                    "source": r.source,
                }
                for s, r in rates.items()
            },
            "seconds": round(time.perf_counter() - started, 3),
            "locked_seconds": round(locked, 3),
        }
    )


async def _rescore_all(run: _Run) -> int:
    """Every account: the tier boundaries come first from the database (two ranked lookups over the
    accounts, the same arithmetic as the domain's, so only the two accounts at the boundaries come here),
    then one streaming pass scores each account and writes it with its final tier, so nothing of the book
    is held in memory beyond a chunk."""
    scoring, settings = run.uow.scoring, run.settings
    await scoring.clear_scores()
    bounds = absolute(settings.tiers)
    if bounds is None:
        by_segment = {(s.value if s else None): r.rate for s, r in run.rates.items()}
        n1, n12 = tier_positions(await scoring.count_live(), settings.tiers)
        model = (settings.potential.horizon_years, settings.potential.max_growth_rate)
        bounds = boundaries_at(
            await scoring.at_potential_rank(by_segment, n1, *model),
            await scoring.at_potential_rank(by_segment, n12, *model),
        )
    return await _score_accounts(run, bounds)


async def _rescore_changes(
    run: _Run, stored: ScoringBasis, basis: ScoringBasis, made: list[tuple[Any, ...]] | None
) -> tuple[_Counts, str]:
    """What changed since the stored scores, under the same settings: the scores of deleted accounts
    go; the accounts changed since their score are scored again (`made`: their rows, made before the
    lock on the same basis); the potentials of a segment whose win rate moved are revalued set-wise;
    then the boundaries are found over the stored potentials and one UPDATE moves the tiers that moved.
    The counts, and the reason in words. An account changed after `made` was read is the next run's
    (the write that changed it asks for one)."""
    scoring = run.uow.scoring
    counts = _Counts(removed=await scoring.remove_scores_of_the_gone())
    counts.rescored = await (_score_accounts(run, None) if made is None else _write_ahead(run, made))
    moved = moved_win_rates(stored, basis)
    for segment, (_, rate) in moved.items():
        counts.revalued += await scoring.revalue(segment or None, rate, run.now)
    counts.retiered = await _retier(run) - counts.rescored  # every rescored row had no tier yet
    reason = f"only the accounts new or changed since the last run ({counts.rescored})"
    if moved:
        reason += f"; the win rates moved ({describe_moves(moved)}): {counts.revalued} potentials revalued"
    return counts, reason


async def _retier(run: _Run) -> int:
    """Tier every stored score by the boundaries over the stored potentials (every live account has one
    now); how many rows changed tier."""
    scoring, fixed = run.uow.scoring, absolute(run.settings.tiers)
    if fixed is not None:
        return await scoring.retier(fixed.thresholds, (None, None), run.now)
    n1, n12 = tier_positions(await scoring.count_scores(), run.settings.tiers)
    last = (await scoring.score_at_rank(n1), await scoring.score_at_rank(n12))
    return await scoring.retier(None, last, run.now)


def _score_rows(run: _Run, chunk: Sequence[Any], bounds: TierBoundaries | None) -> list[tuple[Any, ...]]:
    """A chunk of accounts' score rows (SCORE_COLUMNS order): with `bounds`, each with its final tier;
    without, with tier UNTIERED for the retier step. CPU work: run it off the loop."""
    settings, rates, rows = run.settings, run.rates, []
    icp_min = settings.scoring_bands.icp_fit_min_score
    for account in chunk:
        result = score_account(account, settings)
        potential = account_potential(account, rates, settings.potential)
        rows.append(
            (
                account.id,
                run.p.tenant_id,
                result.score,
                result.confidence,
                potential.dollars,
                potential.win_probability,
                potential.expansion_estimate,
                potential.expansion_derived,
                UNTIERED if bounds is None else tier_of(account.id, potential.dollars, bounds),
                result.score >= icp_min,
                [[f.factor, f.value, f.weight, f.contribution] for f in result.factors],
                run.version,
                run.now,
                account.version,
            )
        )
    return rows


async def _score_accounts(run: _Run, bounds: TierBoundaries | None) -> int:
    """Score the live accounts and write their rows; how many. With `bounds`: every account (the scores
    were cleared), each with its final tier. Without: only the accounts not scored at their current
    version, their old rows replaced, with tier UNTIERED for the retier step.

    Reads use a second connection, so the database ingests chunk k (written by a task on this
    transaction's connection) while chunk k+1 is scored here."""
    queue: asyncio.Queue[list[tuple[Any, ...]] | None] = asyncio.Queue(maxsize=2)
    scoring, incremental = run.uow.scoring, bounds is None

    async def write_chunks() -> None:
        while (rows := await queue.get()) is not None:
            if incremental:
                await scoring.remove_scores([r[0] for r in rows])
            await scoring.write_scores(rows)

    writer = asyncio.create_task(write_chunks())
    scored = 0
    try:
        async with contextlib.aclosing(scoring.accounts_in_chunks(CHUNK, incremental)) as chunks:
            async for chunk in chunks:
                scored += len(chunk)
                # CPU work: in a worker thread, so the event loop keeps answering (lookups)
                await _hand_over(queue, await off_loop(_score_rows, run, chunk, bounds), writer)
        await _hand_over(queue, None, writer)
        await writer  # the last chunk is in; a write error surfaces here
    finally:
        writer.cancel()
    return scored


@dataclasses.dataclass(frozen=True)
class _Ahead:
    """The changed accounts' score rows, made before the run's lock, and the basis they were made on."""

    basis: ScoringBasis
    rows: list[tuple[Any, ...]]


AHEAD_LIMIT = 20_000  # more changed accounts than this are scored under the lock, chunk by chunk


async def _score_changes_ahead(ctx: AppContext, p: Principal) -> _Ahead | None:
    """Before the lock (on SQLite, the database's one write lock, which every other writer waits for):
    read and score the accounts changed since their score, as an incremental run would. None when the
    run will rescore every account, or when more than AHEAD_LIMIT changed."""
    if AHEAD_LIMIT <= 0:
        return None
    async with ctx.uow(p.tenant_id) as uow:
        settings, version = await versioned_settings(uow)
        rates = await tenant_win_rates(uow, settings)
        basis = basis_of(version, rates)
        if full_rescoring_reason(_stored_basis(await uow.scoring.read_basis()), basis) is not None:
            return None
        run, rows = _Run(uow, p, settings, rates, version, ctx.clock.now()), []
        async with contextlib.aclosing(uow.scoring.accounts_in_chunks(CHUNK, True)) as chunks:
            async for chunk in chunks:
                rows.extend(await off_loop(_score_rows, run, chunk, None))
                if len(rows) > AHEAD_LIMIT:
                    return None
    return _Ahead(basis, rows)


async def _write_ahead(run: _Run, rows: list[tuple[Any, ...]]) -> int:
    """Write the rows made ahead, in place of the stored ones, except for accounts deleted since and
    where a run in between stored a score of the same or a later version of the account; how many were
    written. (A row of an account changed since is written: its version says so, and the next run,
    which that change asked for, scores it again.)"""
    scoring = run.uow.scoring
    live = await scoring.scored_versions([r[0] for r in rows])  # deleted accounts are not in it
    # a row's last field is the version of the account it was made from
    fresh = [r for r in rows if r[0] in live and (live[r[0]] or 0) < r[-1]]
    for start in range(0, len(fresh), CHUNK):
        chunk = fresh[start : start + CHUNK]
        await scoring.remove_scores([r[0] for r in chunk])
        await scoring.write_scores(chunk)
    return len(fresh)


@runner.handles("scoring")
async def run_scoring_operation(
    ctx: AppContext, p: Principal, subject_id: UUID | None, request: dict[str, Any], reporter: Any
) -> dict[str, Any]:
    """A rescoring queued after an import (queue_rescoring), in a worker: on its own engine in a thread,
    so that the worker's event loop keeps answering."""
    return (await runner.off_the_loop(ctx, lambda own: run_scoring(own, p))).model_dump(mode="json")


async def queue_rescoring(ctx: AppContext, p: Principal) -> UUID:
    """After an import, in an API process that runs no worker (`worker_in_process` off): a scoring
    operation for the `territory worker` processes, unless one is still waiting for a worker (it will
    read this import too). A steady CRM sync through any number of API processes then makes one rescoring
    at a time, in a worker process, and the API processes keep answering lookups (docs/domain.md,
    "Scoring after an import")."""
    async with ctx.uow(p.tenant_id) as uow:
        since = ctx.clock.now() - timedelta(seconds=runner.LOST_AFTER_SECONDS)
        waiting = await uow.operations.waiting("scoring", since)
    if waiting is not None:
        return waiting
    return await runner.start(ctx, p, "scoring", None, {})


async def rescore_after_import(ctx: AppContext, p: Principal) -> None:
    """Run after an import's answer is sent; a failure is logged, the previous scores stay in place."""
    try:
        await run_scoring(ctx, p)
    except Exception:  # a background task has no caller to tell
        log.exception("scoring after an import failed for tenant %s", p.tenant_id)


async def _hand_over(queue: asyncio.Queue, item: Any, writer: asyncio.Task) -> None:
    """Queue a chunk for the writer; if the writer has failed, raise its error instead of waiting forever."""
    put = asyncio.ensure_future(queue.put(item))
    done, _ = await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
    if put not in done:
        put.cancel()
        await writer
        raise RuntimeError("the score writer stopped")


async def get_score(ctx: AppContext, p: Principal, account_id: UUID) -> AccountScoreRead:
    """One account's stored score, explained factor by factor."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        account = found(await uow.accounts.get(account_id), "account", account_id)
        settings = await tenant_settings(uow)
        row = (await uow.scoring.read_scores([account_id])).get(account_id)
    if row is None:
        raise NotFound("the account has no score yet: run POST /v1/scoring/run", code=Code.NOT_SCORED)
    return explain(row, account, settings)


def _potential_basis(row: Any, account: Any, settings: TenantSettings) -> str:
    """The potential's arithmetic in words: what it adds up, and where the expansion estimate came from."""
    arr, expansion, rate = account.current_arr, row["expansion_estimate"], row["win_probability"]
    if not row["expansion_derived"]:
        source = "as given" if account.expansion_estimate is not None else "none given, no growth signals"
    elif expansion_estimate(account, settings.potential).dollars == expansion:
        model = settings.potential
        growth = min(max(account.growth_rate or 0.0, -1.0), model.max_growth_rate)
        units = account.whitespace_units or 0
        source = (
            f"derived: ${arr:,.0f} x (1 + {units} whitespace units) x (1 + {growth:.0%} a year)^"
            f"{model.horizon_years} years - ${arr:,.0f}"
        )
    else:
        source = "derived from the growth signals the account had when it was scored"
    return (
        f"potential ${row['potential']:,.0f} = current ARR ${arr:,.0f} + expansion estimate "
        f"${expansion:,.0f} ({source}) x win probability {rate:.0%}"
    )


def explain(row: Any, account: Any, settings: TenantSettings) -> AccountScoreRead:
    """A stored score row with each factor's description and source fields, and the account's cell of the
    tiering matrix (revenue band x growth potential -> rep type and strategy)."""
    factors = []
    missing = []
    growth = None
    for name, value, weight, contribution in row["factors"]:
        fields, description = _DESCRIPTIONS[name]
        factors.append(
            {
                "factor": name,
                "value": value,
                "weight": weight,
                "contribution": contribution,
                "source_fields": list(fields),
                "description": description,
            }
        )
        if value is None:
            missing.extend(fields)
        if name == "whitespace":
            growth = value
    stored = {
        key: row[key]
        for key in (
            "account_id",
            "score",
            "confidence",
            "potential",
            "win_probability",
            "tier",
            "icp_fit",
            "settings_version",
            "computed_at",
            "expansion_estimate",
            "expansion_derived",
        )
    }
    return AccountScoreRead.model_validate(
        stored
        | {
            "factors": factors,
            "missing_fields": missing,
            "matrix": dataclasses.asdict(matrix_cell(account.current_arr, growth, settings.tiering_matrix)),
            "potential_basis": _potential_basis(row, account, settings),
        }
    )


async def explain_many(ctx: AppContext, p: Principal, accounts: list[Any]) -> list[AccountScoreRead | None]:
    """The stored scores of these accounts (domain Accounts), each explained as get_score answers it, or
    None where the account has no score yet; one read of the scores and one of the settings (GraphQL's
    batches)."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        settings = await tenant_settings(uow)
        rows = await uow.scoring.read_scores([a.id for a in accounts])
    return [None if a.id not in rows else explain(rows[a.id], a, settings) for a in accounts]
