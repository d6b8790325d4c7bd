"""Plan use cases on the in-memory unit of work: activation archives the active plan, activates this one and
logs the switch and every owner that changed, in one commit; copies; the one-active-plan rule."""

from __future__ import annotations

import uuid

import pytest

from api.services import plans
from api.services.context import Principal
from api.services.plans import PlanCreate
from domain.changes import ChangeKind
from domain.errors import Conflict
from domain.model import Account, Assignment, AssignmentReason, Plan, PlanState, Rep, Role, Territory
from tests.fakes import FakeContext, FakeHistoryStore

TENANT = uuid.uuid4()
WRITER = Principal(TENANT, frozenset({"read", "write"}))


def _assignment(plan, account, rep, territory=None, role=Role.AE, reason=AssignmentReason.MANUAL, note=None):
    return Assignment(
        uuid.uuid4(),
        TENANT,
        plan.id,
        account.id,
        rep.id,
        role,
        territory.id if territory else None,
        reason=reason,
        note=note,
    )


@pytest.fixture
async def world():
    """The active plan and a draft of the next one: `moved` changes rep, `kept` stays with the same rep
    and territory, `dropped` has no owner in the draft, `new` has one only in the draft, `csm` changes
    territory alone (for its CSM role)."""
    w = type("World", (), {})()
    w.ctx = FakeContext()
    w.old = Plan(uuid.uuid4(), TENANT, "FY26", PlanState.ACTIVE)
    w.next = Plan(uuid.uuid4(), TENANT, "FY27")
    w.ann, w.bob = (Rep(uuid.uuid4(), TENANT, f"R-{n}", n, f"{n}@example.com") for n in ("ann", "bob"))
    w.moved, w.kept, w.dropped, w.new = (
        Account(uuid.uuid4(), TENANT, f"A-{n}", n) for n in ("moved", "kept", "dropped", "new")
    )
    w.east, w.west = (Territory(uuid.uuid4(), TENANT, w.next.id, n) for n in ("East", "West"))
    w.old_east = Territory(uuid.uuid4(), TENANT, w.old.id, "East")
    await w.ctx.seed(
        TENANT,
        w.old,
        w.next,
        w.ann,
        w.bob,
        w.moved,
        w.kept,
        w.dropped,
        w.new,
        w.old_east,
        w.east,
        w.west,
        _assignment(w.old, w.moved, w.ann, w.old_east),
        _assignment(w.old, w.kept, w.bob),
        _assignment(w.old, w.dropped, w.ann),
        _assignment(w.old, w.kept, w.ann, w.old_east, role=Role.CSM),
        _assignment(w.next, w.moved, w.bob, w.west, reason=AssignmentReason.RULE, note="boundary of West"),
        _assignment(w.next, w.kept, w.bob),
        _assignment(w.next, w.new, w.ann, w.east, reason=AssignmentReason.REBALANCE, note="room in its band"),
        _assignment(w.next, w.kept, w.ann, w.east, role=Role.CSM),
    )
    return w


async def test_activation_archives_the_old_plan_activates_the_new_and_logs_every_owner_it_changes(world):
    w = world
    now = w.ctx.clock.advance(hours=1)
    activated = await plans.activate_plan(w.ctx, WRITER, w.next.id)
    assert activated.state == PlanState.ACTIVE and activated.activated_at == now
    old = await plans.get_plan(w.ctx, WRITER, w.old.id)
    assert old.state == PlanState.ARCHIVED and old.archived_at == now

    [switch] = w.ctx.db.changes(TENANT, ChangeKind.PLAN)
    assert (switch.subject_id, switch.plan_id, switch.cause, switch.data) == (
        w.next.id,
        w.next.id,
        "activation",
        {"name": "FY27"},
    )
    owners = {(c.subject_id, c.role): c for c in w.ctx.db.changes(TENANT, ChangeKind.OWNER)}
    assert set(owners) == {(w.moved.id, "AE"), (w.dropped.id, "AE"), (w.new.id, "AE"), (w.kept.id, "CSM")}
    moved = owners[(w.moved.id, "AE")]
    assert (moved.from_rep_id, moved.to_rep_id, moved.to_territory_id) == (w.ann.id, w.bob.id, w.west.id)
    assert (moved.cause, moved.reason, moved.plan_id) == ("rule", "boundary of West", w.next.id)
    dropped = owners[(w.dropped.id, "AE")]
    assert (dropped.from_rep_id, dropped.to_rep_id) == (w.ann.id, None)
    assert (dropped.cause, dropped.reason) == ("activation", "no owner for this role in the activated plan")
    new = owners[(w.new.id, "AE")]
    assert (new.from_rep_id, new.to_rep_id, new.cause, new.reason) == (
        None,
        w.ann.id,
        "rebalance",
        "room in its band",
    )
    csm = owners[(w.kept.id, "CSM")]  # the same rep in another territory is a change too
    assert (csm.from_rep_id, csm.to_rep_id) == (w.ann.id, w.ann.id)
    assert (csm.from_territory_id, csm.to_territory_id) == (w.old_east.id, w.east.id)
    assert all(c.valid_from == now for c in owners.values())
    # the switch comes first, in the one commit
    assert w.ctx.db.log[0][2] == switch and len(w.ctx.db.log) == 5


async def test_activating_the_active_plan_does_nothing_and_an_archived_one_is_refused(world):
    w = world
    assert (await plans.activate_plan(w.ctx, WRITER, w.old.id)).state == PlanState.ACTIVE
    assert w.ctx.db.log == []
    await plans.activate_plan(w.ctx, WRITER, w.next.id)
    with pytest.raises(Conflict) as err:
        await plans.activate_plan(w.ctx, WRITER, w.old.id)
    assert err.value.code == "plan_archived"


async def test_a_failed_activation_changes_nothing(world, monkeypatch):
    w = world

    async def broken(self, plan_id, account_id=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(FakeHistoryStore, "plan_owners", broken)
    with pytest.raises(RuntimeError):
        await plans.activate_plan(w.ctx, WRITER, w.next.id)
    assert (await plans.get_plan(w.ctx, WRITER, w.old.id)).state == PlanState.ACTIVE
    assert (await plans.get_plan(w.ctx, WRITER, w.next.id)).state == PlanState.DRAFT
    assert w.ctx.db.log == []


async def test_a_first_active_plan_is_logged_and_a_second_is_refused():
    ctx = FakeContext()
    first = await plans.create_plan(ctx, WRITER, PlanCreate(name="FY26", state=PlanState.ACTIVE))
    assert first.activated_at == ctx.clock.now()
    assert [c.subject_id for c in ctx.db.changes(TENANT, ChangeKind.PLAN)] == [first.id]
    with pytest.raises(Conflict) as err:
        await plans.create_plan(ctx, WRITER, PlanCreate(name="FY27", state=PlanState.ACTIVE))
    assert err.value.code == "active_plan_exists"
    draft = await plans.create_plan(ctx, WRITER, PlanCreate(name="FY27"))
    assert draft.state == PlanState.DRAFT and len(ctx.db.log) == 1


async def test_a_copy_is_a_draft_with_the_territories_and_the_current_owners(world):
    w = world
    child = Territory(uuid.uuid4(), TENANT, w.next.id, "West 1", parent_id=w.west.id)
    await w.ctx.seed(TENANT, child)
    copy = await plans.copy_plan(w.ctx, WRITER, w.next.id)
    assert (copy.name, copy.state, copy.source_plan_id) == ("Copy of FY27", PlanState.DRAFT, w.next.id)
    tables = w.ctx.db.tables
    copied = {t.name: t for t in tables["territories"].values() if t.plan_id == copy.id}
    assert set(copied) == {"East", "West", "West 1"}
    assert copied["West 1"].parent_id == copied["West"].id  # the copy's parent, not the source's
    owners = {(a.account_id, a.role): a for a in tables["assignments"].values() if a.plan_id == copy.id}
    assert len(owners) == 4
    moved = owners[(w.moved.id, Role.AE)]
    assert (moved.rep_id, moved.territory_id, moved.reason, moved.note) == (
        w.bob.id,
        copied["West"].id,
        AssignmentReason.RULE,
        "boundary of West",
    )
    assert all(a.valid_from == w.ctx.clock.now() and a.valid_to is None for a in owners.values())
    assert w.ctx.db.log == []  # a draft: nothing a lookup sees
