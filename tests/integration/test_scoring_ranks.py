"""Tier boundaries found by the database equal the domain's: the same potentials, the same order."""

import random
import uuid

from domain.defaults import TierCutoffs
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
            "current_arr": float(rnd.choice([0, 1000, 2500.5, 1e6])),
            "expansion_estimate": rnd.choice([None, 0.0, 333.3, 1e5]),
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
    potentials = [(r["id"], account_potential(Row(**r), rates).dollars) for r in rows]
    by_segment = {k: v.rate for k, v in rates.items()}
    for shares in ((0.2, 0.3), (0.1, 0.5), (0.0, 0.3), (1.0, 0.0)):
        cutoffs = TierCutoffs(*shares)
        expected = tier_boundaries(potentials, cutoffs)
        async with engine.connect() as conn:
            n = await store.count_live(conn, tenant.tenant_id)
            n1, n12 = tier_positions(n, cutoffs)
            got = boundaries_at(
                await store.at_potential_rank(conn, tenant.tenant_id, by_segment, n1),
                await store.at_potential_rank(conn, tenant.tenant_id, by_segment, n12),
            )
        assert n == len(rows)
        assert got == expected, shares
