"""Tier boundaries found by the database equal the domain's: the same potentials, the same order."""

import random
import uuid

from domain.defaults import PotentialModel, TierCutoffs
from domain.scoring import WinRate, account_potential
from domain.tiering import boundaries_at, tier_boundaries, tier_positions
from persistence import scoring as store
from persistence.imports import insert_many
from tests.conftest import make_tenant


class Row:
    def __init__(self, **kw):
        self.__dict__.update(kw)


async def test_ranked_in_sql_as_in_the_domain(engine):
    rnd = random.Random(11)
    tenant = await make_tenant(engine)
    rows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant.tenant_id,
            "external_id": f"A{i}",
            "name": "a",
            # few distinct values: many ties, broken by id
            "current_arr": float(rnd.choice([0, 1000, 2500.5, 50_000, 1e6])),
            "expansion_estimate": rnd.choice([None, None, 0.0, 333.3, 1e5]),
            # when no estimate is given, it is derived from these (capped growth, negative, none)
            "growth_rate": rnd.choice([None, -1.5, -0.2, 0.0, 0.05, 0.4, 0.37, 3.7]),
            "whitespace_units": rnd.choice([None, 0, 1, 3, 7]),
            "segment": rnd.choice([None, "smb", "mid_market", "enterprise"]),
            "stage": "cold",
            "strategic": False,
            "tags": [],
        }
        for i in range(157)
    ]
    deleted = dict(rows[0], id=uuid.uuid4(), external_id="GONE", current_arr=9e9)
    async with engine.begin() as conn:
        await insert_many(conn, "accounts", rows + [deleted])
        await conn.execute(
            store.ACCOUNTS.update()
            .where(store.ACCOUNTS.c.id == deleted["id"])
            .values(deleted_at=store.sa.func.now())
        )
    rates = {
        None: WinRate(0.2, 0, 0, "default"),
        "smb": WinRate(0.137, 5, 31, "history"),
        "enterprise": WinRate(0.41, 9, 13, "history"),
    }
    by_segment = {k: v.rate for k, v in rates.items()}
    for shares, model in (
        ((0.2, 0.3), PotentialModel()),
        ((0.1, 0.5), PotentialModel(3, 0.5)),
        ((0.0, 0.3), PotentialModel(1, 0.0)),
        ((1.0, 0.0), PotentialModel(10, 10.0)),
    ):
        potentials = [(r["id"], account_potential(Row(**r), rates, model).dollars) for r in rows]
        cutoffs = TierCutoffs(*shares)
        expected = tier_boundaries(potentials, cutoffs)
        async with engine.connect() as conn:
            n = await store.count_live(conn, tenant.tenant_id)
            n1, n12 = tier_positions(n, cutoffs)
            got = boundaries_at(
                await store.at_potential_rank(
                    conn, tenant.tenant_id, by_segment, n1, model.horizon_years, model.max_growth_rate
                ),
                await store.at_potential_rank(
                    conn, tenant.tenant_id, by_segment, n12, model.horizon_years, model.max_growth_rate
                ),
            )
            # not only at the boundaries: every account's potential is the domain's to the last bit
            formula = store.potential_expression(by_segment, model.horizon_years, model.max_growth_rate)
            stmt = store.sa.select(store.ACCOUNTS.c.id, formula).where(
                store.ACCOUNTS.c.tenant_id == tenant.tenant_id, store.ACCOUNTS.c.deleted_at.is_(None)
            )
            in_sql = {r[0]: r[1] for r in await conn.execute(stmt)}
        assert n == len(rows)
        assert got == expected, shares
        assert in_sql == dict(potentials), model


async def test_stored_scores_tiered_in_sql_as_in_the_domain(engine):
    """The incremental run's retier step: the boundaries over the stored potentials and the tier UPDATE
    give every row the tier domain.tiering gives it, ties at a boundary broken by id."""
    from datetime import UTC, datetime

    from domain.tiering import tier_accounts

    rnd = random.Random(12)
    tenant = await make_tenant(engine)
    now = datetime.now(UTC)
    potentials = {uuid.uuid4(): float(rnd.choice([0.0, 10.0, 10.0, 77.7, 1e6])) for _ in range(131)}
    rows = [
        (k, tenant.tenant_id, 1.0, 1.0, v, 0.2, 0.0, False, 0, False, [], 1, now, 1)
        for k, v in potentials.items()
    ]
    for shares in ((0.2, 0.3), (0.1, 0.5), (0.0, 0.3), (1.0, 0.0), (None, None)):
        cutoffs = TierCutoffs(*shares) if shares[0] is not None else TierCutoffs(0.2, 0.3, 50.0, 10.0)
        expected = tier_accounts(potentials, cutoffs)
        async with engine.begin() as conn:
            await store.clear_scores(conn, tenant.tenant_id)
            await store.write_scores(conn, rows)
            n1, n12 = tier_positions(await store.count_scores(conn, tenant.tenant_id), cutoffs)
            fixed = cutoffs.tier1_min_potential, cutoffs.tier2_min_potential
            thresholds = fixed if fixed[0] is not None else None
            last = (
                await store.score_at_rank(conn, tenant.tenant_id, n1),
                await store.score_at_rank(conn, tenant.tenant_id, n12),
            )
            tier = store.tier_expression(thresholds, last)
            moved = await store.retier(conn, tenant.tenant_id, tier, now)
            got = {
                r.account_id: r.tier
                for r in await conn.execute(
                    store.sa.select(store.SCORES.c.account_id, store.SCORES.c.tier).where(
                        store.SCORES.c.tenant_id == tenant.tenant_id
                    )
                )
            }
        assert got == expected, shares
        assert moved == len(rows)  # every row was written with no tier (0)
