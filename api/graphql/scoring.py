"""Scores, potential and tiers: an account's explained score, and a scoring run."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.graphql.common import attempt, output_type, result
from api.services import scoring as service

Factor = output_type(service.FactorRead, "Factor")
MatrixCell = output_type(service.MatrixCellRead, "MatrixCell")
AccountScore = output_type(service.AccountScoreRead, "AccountScore")
ScoringRun = output_type(service.ScoringRunRead, "ScoringRun")
ScoringRunResult = result(ScoringRun, "ScoringRunResult")


async def account_score(root: Any, info: Info) -> AccountScore | None:  # type: ignore[valid-type]
    """Account.score: the last scoring run's result, explained."""
    return await info.context.loaders.score.load(root)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Score, value and tier every account under the current settings")
    async def run_scoring(
        self,
        info: Info,
        full: Annotated[
            bool, strawberry.argument(description="rescore every account, changed or not")
        ] = False,
    ) -> ScoringRunResult:  # type: ignore[valid-type]
        """The accounts new or changed since the last run (every account when the settings or the win
        rates changed, or with full), and the tiers the book's new boundaries move."""
        c = info.context
        return await attempt(service.run_scoring(c.ctx, c.principal, full))
