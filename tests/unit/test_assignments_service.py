"""Assignment use cases on the in-memory unit of work: what an edit of the active plan records in the change
log (cause and reason included), and that an edit of a draft records nothing."""

from __future__ import annotations

import uuid

import pytest

from api.services import assignments
from api.services.assignments import AssignmentCreate, AssignmentUpdate
from api.services.context import Principal
from domain.changes import ChangeKind
from domain.errors import Conflict, ValidationFailed
from domain.model import Account, AssignmentReason, Plan, PlanState, Rep, Territory
from tests.fakes import FakeContext

TENANT = uuid.uuid4()
WRITER = Principal(TENANT, frozenset({"read", "write"}))


@pytest.fixture
async def world():
    ctx = FakeContext()
    w = type("World", (), {})()
    w.ctx = ctx
    w.active = Plan(uuid.uuid4(), TENANT, "FY26", PlanState.ACTIVE)
    w.draft = Plan(uuid.uuid4(), TENANT, "FY27 draft")
    w.archived = Plan(uuid.uuid4(), TENANT, "FY25", PlanState.ARCHIVED)
    w.account = Account(uuid.uuid4(), TENANT, "ENT-1", "Globex")
    w.ann = Rep(uuid.uuid4(), TENANT, "R-1", "Ann", "ann@example.com")
    w.bob = Rep(uuid.uuid4(), TENANT, "R-2", "Bob", "bob@example.com")
    w.east = Territory(uuid.uuid4(), TENANT, w.active.id, "East", primary_rep_id=w.ann.id)
    w.west = Territory(uuid.uuid4(), TENANT, w.active.id, "West", primary_rep_id=w.bob.id)
    w.draft_east = Territory(uuid.uuid4(), TENANT, w.draft.id, "East")
    await ctx.seed(
        TENANT, w.active, w.draft, w.archived, w.account, w.ann, w.bob, w.east, w.west, w.draft_east
    )
    return w


def owner_log(w):
    return w.ctx.db.changes(TENANT, ChangeKind.OWNER)


async def give(w, plan, rep, territory=None, **fields):
    """The world's account to `rep` in `plan`, through the use case."""
    body = AssignmentCreate(
        plan_id=plan.id,
        account_id=w.account.id,
        rep_id=rep.id,
        territory_id=territory.id if territory else None,
        **fields,
    )
    return await assignments.create_assignment(w.ctx, WRITER, body)


async def test_a_new_owner_in_the_active_plan_is_logged_with_its_cause_and_reason(world):
    w = world
    made = await give(w, w.active, w.ann, w.east, reason=AssignmentReason.DISPUTE, note="won the dispute")
    assert made.valid_from == w.ctx.clock.now() and made.valid_to is None
    [change] = owner_log(w)
    assert (change.subject_id, change.role, change.plan_id) == (w.account.id, "AE", w.active.id)
    assert (change.from_rep_id, change.to_rep_id) == (None, w.ann.id)
    assert (change.from_territory_id, change.to_territory_id) == (None, w.east.id)
    assert (change.cause, change.reason) == ("dispute", "won the dispute")
    assert change.valid_from == w.ctx.clock.now()


async def test_an_update_ends_the_owner_starts_its_successor_and_logs_the_move(world):
    w = world
    first = await give(w, w.active, w.ann, w.east)
    moved_at = w.ctx.clock.advance(days=1)
    successor = await assignments.update_assignment(
        w.ctx,
        WRITER,
        first.id,
        AssignmentUpdate(rep_id=w.bob.id, territory_id=w.west.id, note="territory swap"),
    )
    assert successor.id != first.id and successor.reason == AssignmentReason.MANUAL  # kept from the first
    ended = await assignments.get_assignment(w.ctx, WRITER, first.id)
    assert ended.valid_to == moved_at and successor.valid_from == moved_at
    change = owner_log(w)[-1]
    assert (change.from_rep_id, change.to_rep_id) == (w.ann.id, w.bob.id)
    assert (change.from_territory_id, change.to_territory_id) == (w.east.id, w.west.id)
    assert (change.cause, change.reason, change.valid_from) == ("manual", "territory swap", moved_at)
    # an update that changes neither rep nor territory is no owner change
    await assignments.update_assignment(w.ctx, WRITER, successor.id, AssignmentUpdate(locked=True))
    assert len(owner_log(w)) == 2


async def test_ending_the_owner_logs_that_the_account_has_none(world):
    w = world
    made = await give(w, w.active, w.ann)
    await assignments.end_assignment(w.ctx, WRITER, made.id)
    change = owner_log(w)[-1]
    assert (change.from_rep_id, change.to_rep_id, change.to_territory_id) == (w.ann.id, None, None)
    assert (change.cause, change.reason) == ("manual", "assignment ended")
    await assignments.end_assignment(w.ctx, WRITER, made.id)  # already ended: nothing more
    assert len(owner_log(w)) == 2


async def test_a_draft_plan_changes_hands_without_a_word_in_the_log(world):
    w = world
    made = await give(w, w.draft, w.ann, w.draft_east)
    successor = await assignments.update_assignment(w.ctx, WRITER, made.id, AssignmentUpdate(rep_id=w.bob.id))
    await assignments.end_assignment(w.ctx, WRITER, successor.id)
    assert w.ctx.db.changes(TENANT) == []
    listed = await assignments.list_assignments(
        w.ctx, WRITER, {"plan_id": w.draft.id, "current": False}, None, None
    )
    assert {a.id for a in listed.items} == {made.id, successor.id}


async def test_refusals_change_nothing(world):
    w = world
    body = AssignmentCreate(plan_id=w.active.id, account_id=w.account.id, rep_id=w.ann.id)
    await assignments.create_assignment(w.ctx, WRITER, body)
    with pytest.raises(Conflict) as err:
        await assignments.create_assignment(w.ctx, WRITER, body)
    assert err.value.code == "owner_exists"
    with pytest.raises(Conflict) as err:
        await assignments.create_assignment(w.ctx, WRITER, body.model_copy(update={"plan_id": w.archived.id}))
    assert err.value.code == "plan_archived"
    with pytest.raises(ValidationFailed) as bad:  # a territory of another plan
        await assignments.create_assignment(
            w.ctx, WRITER, body.model_copy(update={"plan_id": w.draft.id, "territory_id": w.east.id})
        )
    assert bad.value.errors[0].field == "territory_id"
    assert len(owner_log(w)) == 1
    assert len([a for a in w.ctx.db.tables["assignments"].values() if a.valid_to is None]) == 1
