"""Assignment by boundary rules on the in-memory unit of work: placed, moved, unchanged, locked, unmatched
and ownerless accounts, in one commit; never in a plan that is not a draft."""

from __future__ import annotations

import uuid

import pytest

from api.services import assigning
from api.services.context import Principal
from domain.errors import Conflict
from domain.model import Account, Assignment, AssignmentReason, Plan, PlanState, Rep, Role, Territory
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
