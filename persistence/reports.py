"""The weekly metrics' aggregates (seed 004): the rules of `domain.metrics` compiled to SQL over the
activities and opportunities of the week, grouped by book (owner and tier), a few queries a tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from domain.defaults import CoverageModel, CoverageRules
from domain.metrics import (
    Week,
    WeekTally,
    meeting,
    opportunity_created,
    reply,
    sequence_activity,
    sequence_completed,
    sequence_required,
    week_activity,
)
from persistence.coverage import ACTIVITIES, OPPORTUNITIES, ReportRows, compile_pred
from persistence.stores import Store

Book = tuple[Any, int | None]  # (owner of record, tier)


class ReportStore(Store):
    """Aggregates of the reports of the unit of work's tenant (`uow.reports`)."""

    async def weekly_tallies(
        self, role: str, week: Week, now: datetime, rules: CoverageRules, model: CoverageModel
    ) -> dict[Book, WeekTally]:
        """Every book of `role`'s owners with its week: one aggregate of the accounts worked, one of the
        pipeline created, one of the books' sizes."""
        conn = await self.connection()
        dialect = conn.dialect.name
        a = ACTIVITIES.c
        activity = {"occurred_at": a.occurred_at, "kind": a.kind, "direction": a.direction}

        def flag(pred: Any) -> Any:
            return sa.func.max(sa.case((compile_pred(pred, activity, dialect), 1), else_=0))

        per_week = (
            sa.select(
                a.account_id,
                sa.func.count().label("touches"),
                flag(reply()).label("replied"),
                flag(meeting(rules)).label("met"),
            )
            .where(a.tenant_id == self.tenant_id, compile_pred(week_activity(week, now), activity, dialect))
            .group_by(a.account_id)
            .subquery("week")
        )
        in_sequence = compile_pred(sequence_activity(week, now, rules), activity, dialect)
        seq = (
            sa.select(
                a.account_id,
                sa.func.count().label("sequence_touches"),
                sa.func.sum(
                    sa.case((compile_pred(sequence_required(rules), activity, dialect), 1), else_=0)
                ).label("sequence_required"),
            )
            .where(a.tenant_id == self.tenant_id, in_sequence)
            .group_by(a.account_id)
            .subquery("seq")
        )
        r = ReportRows(self.tenant_id, role, dialect)
        tier, rep = r.fields["tier"], r.fields["rep_id"]
        account = {
            "tier": tier,
            "sequence_touches": sa.func.coalesce(seq.c.sequence_touches, 0),
            "sequence_required": sa.func.coalesce(seq.c.sequence_required, 0),
        }
        completed = compile_pred(sequence_completed(model, rules), account, dialect)
        worked = (
            sa.select(
                rep.label("rep_id"),
                tier.label("tier"),
                sa.func.count().label("worked"),
                sa.func.sum(per_week.c.touches).label("touches"),
                sa.func.sum(per_week.c.replied).label("replied"),
                sa.func.sum(per_week.c.met).label("met"),
            )
            .select_from(r.from_.join(per_week, per_week.c.account_id == r.fields["account_id"]))
            .where(*r.scope)
            .group_by(rep, tier)
        )
        o = OPPORTUNITIES.c
        created = compile_pred(opportunity_created(week), {"created_on": o.created_on}, dialect)
        pipeline = (
            sa.select(
                rep.label("rep_id"),
                tier.label("tier"),
                sa.func.count().label("n"),
                sa.func.sum(o.amount).label("amount"),
            )
            .select_from(r.from_.join(OPPORTUNITIES, o.account_id == r.fields["account_id"]))
            .where(*r.scope, created)
            .group_by(rep, tier)
        )
        # sequence completion is over the whole book, worked this week or not (seed 004)
        books = (
            sa.select(
                rep.label("rep_id"),
                tier.label("tier"),
                sa.func.count().label("n"),
                sa.func.sum(sa.case((completed, 1), else_=0)).label("completed"),
            )
            .select_from(r.from_.outerjoin(seq, seq.c.account_id == r.fields["account_id"]))
            .where(*r.scope)
            .group_by(rep, tier)
        )
        tallies = {
            (x.rep_id, x.tier): WeekTally(accounts=int(x.n), completed=int(x.completed or 0))
            for x in await conn.execute(books)
        }
        for x in await conn.execute(worked):
            if (t := tallies.get((x.rep_id, x.tier))) is None:
                continue  # a book that came after its size was read
            t.worked, t.touches, t.replied = int(x.worked), int(x.touches), int(x.replied)
            t.met = int(x.met)
        for x in await conn.execute(pipeline):
            if (t := tallies.get((x.rep_id, x.tier))) is None:
                continue
            t.pipeline, t.opportunities = float(x.amount), int(x.n)
        return tallies
