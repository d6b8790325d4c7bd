"""The weekly metrics' aggregates (docs/domain.md, "Weekly metrics"): the rules of `domain.metrics` compiled
to SQL over the
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
from domain.quarterly_review import Quarter, Results
from persistence.coverage import (
    ACTIVITIES,
    OPPORTUNITIES,
    PLANS,
    REPS,
    TERRITORIES,
    ReportRows,
    compile_pred,
)
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
        # sequence completion is over the whole book, worked this week or not (docs/domain.md, "Weekly
        # metrics")
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

    async def quarter_results(self, role: str, quarter: Quarter) -> dict[str, dict[Any, Results]]:
        """The quarter's opportunities of the live accounts, per rep (the opportunity's rep, else the
        account's owner of record for `role`) and per territory (the account's, in the active plan): won
        revenue and count closed in the quarter, opened in the quarter and how many of those were won."""
        conn = await self.connection()
        r = ReportRows(self.tenant_id, role, conn.dialect.name)
        o = OPPORTUNITIES.c
        won = sa.and_(o.status == "won", o.closed_on >= quarter.start, o.closed_on < quarter.end)
        opened = sa.and_(o.created_on >= quarter.start, o.created_on < quarter.end)
        out: dict[str, dict[Any, Results]] = {}
        for name, key in (
            ("rep", sa.func.coalesce(o.rep_id, r.fields["rep_id"])),
            ("territory", r.fields["territory_id"]),
        ):
            stmt = (
                sa.select(
                    key.label("key"),
                    sa.func.coalesce(sa.func.sum(sa.case((won, o.amount), else_=0.0)), 0.0).label("won"),
                    sa.func.sum(sa.case((won, 1), else_=0)).label("won_n"),
                    sa.func.sum(sa.case((opened, 1), else_=0)).label("opened"),
                    sa.func.sum(sa.case((sa.and_(opened, o.status == "won"), 1), else_=0)).label(
                        "opened_won"
                    ),
                )
                .select_from(r.from_.join(OPPORTUNITIES, o.account_id == r.fields["account_id"]))
                .where(*r.scope, o.tenant_id == self.tenant_id, sa.or_(won, opened))
                .group_by(key)
            )
            out[name] = {
                x.key: Results(float(x.won), int(x.won_n or 0), int(x.opened or 0), int(x.opened_won or 0))
                for x in await conn.execute(stmt)
            }
        return out

    async def quotas(self) -> dict[str, dict[Any, tuple[str, float | None]]]:
        """(name, quota) of the tenant's reps that have not left, and of the active plan's territories."""
        conn = await self.connection()
        reps = sa.select(REPS.c.id, REPS.c.name, REPS.c.quota).where(
            REPS.c.tenant_id == self.tenant_id, REPS.c.end_date.is_(None)
        )
        active = sa.select(PLANS.c.id).where(PLANS.c.tenant_id == self.tenant_id, PLANS.c.state == "active")
        territories = sa.select(TERRITORIES.c.id, TERRITORIES.c.name, TERRITORIES.c.quota).where(
            TERRITORIES.c.tenant_id == self.tenant_id, TERRITORIES.c.plan_id.in_(active)
        )
        return {
            "rep": {x.id: (x.name, x.quota) for x in await conn.execute(reps)},
            "territory": {x.id: (x.name, x.quota) for x in await conn.execute(territories)},
        }
