"""Assignment by boundary rules on the in-memory unit of work: placed, moved, unchanged, locked, unmatched
and ownerless accounts, in one commit; never in a plan that is not a draft."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from api.services import assigning
from api.services.context import Principal
from domain.errors import Conflict
from domain.model import (
    Account,
    Activity,
    ActivityKind,
    Assignment,
    AssignmentReason,
    Plan,
    PlanState,
    Rep,
    Role,
    Territory,
)
from tests.fakes import FakeContext

TENANT = uuid.uuid4()
WRITER = Principal(TENANT, frozenset({"read", "write"}))


def region(name: str) -> dict:
    return {"rules": [{"field": "region", "op": "eq", "value": name}]}


async def test_rules_place_every_account_or_say_why_not():
    ctx = FakeContext()
    draft, active = Plan(uuid.uuid4(), TENANT, "FY27"), Plan(uuid.uuid4(), TENANT, "FY26", PlanState.ACTIVE)
    ann, bob = (Rep(uuid.uuid4(), TENANT, n, n, f"{n}@example.com") for n in ("ann", "bob"))
    east = Territory(uuid.uuid4(), TENANT, draft.id, "East", boundary=region("east"), primary_rep_id=ann.id)
    west = Territory(uuid.uuid4(), TENANT, draft.id, "West", boundary=region("west"))  # nobody owns it
    new, moved, kept, locked, west1, north = (
        Account(uuid.uuid4(), TENANT, n, n, region=r)
        for n, r in (
            ("new", "east"),
            ("moved", "east"),
            ("kept", "east"),
            ("locked", "east"),
            ("west1", "west"),
            ("north", "north"),
        )
    )

    def owner(account, rep, territory=None, locked=False):
        return Assignment(uuid.uuid4(), TENANT, draft.id, account.id, rep.id, Role.AE, territory, locked)

    was_moved, was_locked = owner(moved, bob), owner(locked, bob, locked=True)
    await ctx.seed(
        TENANT,
        *(draft, active, ann, bob, east, west, new, moved, kept, locked, west1, north),
        was_moved,
        was_locked,
        owner(kept, ann, east.id),
    )
    now = ctx.clock.advance(hours=1)
    result = await assigning.assign_plan_by_rules(ctx, WRITER, draft.id)

    assert {k: getattr(result, k) for k in ("accounts", "assigned", "moved", "unchanged", "locked")} == {
        "accounts": 6,
        "assigned": 1,
        "moved": 1,
        "unchanged": 1,
        "locked": 1,
    }
    assert [a.external_id for a in result.unmatched.accounts] == ["north"]
    ownerless = result.territories_without_owner
    assert ownerless.count == 1 and ownerless.accounts[0].territory_id == west.id
    assert result.conflicts.count == 0

    current = {a.account_id: a for a in ctx.db.tables["assignments"].values() if a.valid_to is None}
    for account in (new, moved, kept):
        assert (current[account.id].rep_id, current[account.id].territory_id) == (ann.id, east.id)
    assert current[new.id].reason == AssignmentReason.RULE and current[new.id].valid_from == now
    assert current[new.id].note.startswith("boundary of East: ")
    assert ctx.db.tables["assignments"][was_moved.id].valid_to == now  # history kept: ended, not changed
    assert current[locked.id].id == was_locked.id and current[locked.id].rep_id == bob.id
    assert ctx.db.log == []  # a draft

    with pytest.raises(Conflict) as err:
        await assigning.assign_plan_by_rules(ctx, WRITER, active.id)
    assert err.value.code == "plan_not_draft"


# --- the policy decides (docs/domain.md, "Rules of engagement"): the worked cases ----------------------


def rep(name: str, **fields) -> Rep:
    return Rep(uuid.uuid4(), TENANT, name, name, f"{name.split()[0].lower()}@example.com", **fields)


def touch(account: Account, who: Rep, days_ago: float, now) -> Activity:
    return Activity(
        uuid.uuid4(),
        TENANT,
        uuid.uuid4().hex,
        account.id,
        now - timedelta(days=days_ago),
        ActivityKind.CALL,
        who.id,
    )


async def assigned(ctx, draft) -> dict:
    result = await assigning.assign_plan_by_rules(ctx, WRITER, draft.id)
    current = {a.account_id: a for a in ctx.db.tables["assignments"].values() if a.valid_to is None}
    return result, current


async def test_relationship_beats_hq_location():
    ctx = FakeContext()
    now = ctx.clock.now()
    draft = Plan(uuid.uuid4(), TENANT, "FY27")
    james, sarah = rep("James Park"), rep("Sarah Chen")
    west = Territory(uuid.uuid4(), TENANT, draft.id, "West", boundary=region("west"), primary_rep_id=james.id)
    east = Territory(uuid.uuid4(), TENANT, draft.id, "East", boundary=region("east"), primary_rep_id=sarah.id)
    hq_west = Account(uuid.uuid4(), TENANT, "HQ", "Startup AI", region="west")
    old = touch(hq_west, sarah, 200, now)  # outside the 90 days: not a relationship, but her last touch
    await ctx.seed(
        TENANT,
        draft,
        james,
        sarah,
        west,
        east,
        hq_west,
        touch(hq_west, sarah, 3, now),
        touch(hq_west, sarah, 40, now),
        old,
    )
    result, current = await assigned(ctx, draft)
    owner = current[hq_west.id]
    assert (owner.rep_id, owner.territory_id) == (sarah.id, east.id)
    assert owner.note == (
        "existing relationship: Sarah Chen has 2 meaningful touches in the last 90 days; "
        "the boundary of West (James Park) holds its headquarters"
    )
    assert result.by_rule == {"existing_relationship": 1}
    # one touch is not a relationship (the policy asks for 2): the boundary decides, James alone
    ctx2 = FakeContext()
    await ctx2.seed(TENANT, draft, james, sarah, west, east, hq_west, touch(hq_west, sarah, 3, now))
    result, current = await assigned(ctx2, draft)
    assert current[hq_west.id].rep_id == james.id and result.by_rule == {"boundary": 1}


async def test_named_account_beats_a_rule():
    ctx = FakeContext()
    draft = Plan(uuid.uuid4(), TENANT, "FY27")
    ann, kim = rep("Ann Lee"), rep("Kim Ito")
    east = Territory(
        uuid.uuid4(), TENANT, draft.id, "East", boundary=region("east"), priority=9, primary_rep_id=ann.id
    )
    key = Territory(
        uuid.uuid4(), TENANT, draft.id, "Key", boundary={"named_accounts": ["ACME"]}, primary_rep_id=kim.id
    )
    acme = Account(uuid.uuid4(), TENANT, "ACME", "Acme", region="east")
    await ctx.seed(TENANT, draft, ann, kim, east, key, acme)
    result, current = await assigned(ctx, draft)
    assert (current[acme.id].rep_id, current[acme.id].territory_id) == (kim.id, key.id)
    assert current[acme.id].note == (
        "named account: Key names it (Kim Ito); the boundary of East (Ann Lee) holds its headquarters"
    )
    assert result.by_rule == {"named_account": 1}


async def test_territory_of_record_keeps_the_owner_when_two_boundaries_match_equally():
    ctx = FakeContext()
    draft = Plan(uuid.uuid4(), TENANT, "FY27")
    ann, bob = rep("Ann Lee"), rep("Bob Roy")
    east = Territory(uuid.uuid4(), TENANT, draft.id, "East", boundary=region("east"), primary_rep_id=ann.id)
    coast = Territory(uuid.uuid4(), TENANT, draft.id, "Coast", boundary=region("east"), primary_rep_id=bob.id)
    acme = Account(uuid.uuid4(), TENANT, "ACME", "Acme", region="east")
    was = Assignment(uuid.uuid4(), TENANT, draft.id, acme.id, bob.id, Role.AE, coast.id)
    await ctx.seed(TENANT, draft, ann, bob, east, coast, acme, was)
    result, current = await assigned(ctx, draft)
    assert current[acme.id].id == was.id  # kept as it was: nothing written
    assert (result.unchanged, result.moved, result.by_rule) == (1, 0, {"territory_of_record": 1})
    assert result.conflicts.count == 1  # still listed: two boundaries of one priority


async def test_a_tie_goes_by_the_stated_order_and_never_leaves_the_account_unowned():
    ctx = FakeContext()
    now = ctx.clock.now()
    draft = Plan(uuid.uuid4(), TENANT, "FY27")
    senior = rep("Ann Lee", start_date=date(2019, 1, 1))
    junior = rep("Bob Roy", start_date=date(2024, 1, 1))
    busy = rep("Cy Dale", start_date=date(2025, 1, 1))
    a = Territory(uuid.uuid4(), TENANT, draft.id, "A", boundary=region("east"), primary_rep_id=senior.id)
    b = Territory(uuid.uuid4(), TENANT, draft.id, "B", boundary=region("east"), primary_rep_id=junior.id)
    c = Territory(uuid.uuid4(), TENANT, draft.id, "C", boundary=region("west"), primary_rep_id=busy.id)
    c2 = Territory(uuid.uuid4(), TENANT, draft.id, "C2", boundary=region("west"), primary_rep_id=senior.id)
    level = Account(uuid.uuid4(), TENANT, "L", "Level", region="east")
    touched = Account(uuid.uuid4(), TENANT, "T", "Touched", region="west")
    await ctx.seed(
        TENANT, draft, senior, junior, busy, a, b, c, c2, level, touched, touch(touched, busy, 3, now)
    )
    result, current = await assigned(ctx, draft)
    # level on every rule and no touches: the rep who started first
    assert current[level.id].rep_id == senior.id and current[level.id].note.startswith(
        "tiebreak: Ann Lee (A)"
    )
    # one touch (no relationship) is still the most meaningful touches: the tiebreak's first key
    assert current[touched.id].rep_id == busy.id
    assert result.by_rule == {"tiebreak": 2} and result.conflicts.count == 2


async def test_a_departed_rep_never_gets_an_account():
    ctx = FakeContext()
    now = ctx.clock.now()
    draft = Plan(uuid.uuid4(), TENANT, "FY27")
    gone = rep("Lea Moss", end_date=(now - timedelta(days=1)).date())
    ann = rep("Ann Lee")
    east = Territory(uuid.uuid4(), TENANT, draft.id, "East", boundary=region("east"), primary_rep_id=ann.id)
    lea = Territory(
        uuid.uuid4(), TENANT, draft.id, "Lea", boundary=region("west"), priority=5, primary_rep_id=gone.id
    )
    worked = Account(uuid.uuid4(), TENANT, "W", "Worked", region="east")  # Lea's relationship counts no more
    hers = Account(uuid.uuid4(), TENANT, "H", "Hers", region="west")  # her territory has no owner now
    was = Assignment(uuid.uuid4(), TENANT, draft.id, hers.id, gone.id, Role.AE, lea.id)
    await ctx.seed(
        TENANT,
        draft,
        gone,
        ann,
        east,
        lea,
        worked,
        hers,
        was,
        *(touch(worked, gone, d, now) for d in (1, 2, 3)),
    )
    result, current = await assigned(ctx, draft)
    assert current[worked.id].rep_id == ann.id and result.by_rule == {"boundary": 1}
    assert current[hers.id].id == was.id  # kept, listed: nobody else may be given it by rules
    assert [x.territory_name for x in result.territories_without_owner.accounts] == ["Lea"]
