"""The Strawberry schema: each feature's Query and Mutation fields (api/graphql/<feature>.py), merged, and
the router that serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from fastapi import Request
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.fastapi import GraphQLRouter
from strawberry.tools import merge_types

from api.graphql import (
    accounts,
    assignments,
    capacity,
    coverage,
    disputes,
    engagement,
    equity,
    events,
    history,
    keys,
    operations,
    ownership,
    plans,
    rebalancing,
    reports,
    reps,
    scoring,
    segment_changes,
    settings,
    territories,
)
from api.graphql.common import get_context
from api.graphql.idempotency import idempotent
from domain.errors import DomainError

# the order of the fields in the SDL
Query = merge_types(
    "Query",
    (
        accounts.Query,
        territories.Query,
        reps.Query,
        plans.Query,
        settings.Query,
        capacity.Query,
        coverage.Query,
        engagement.Query,
        disputes.Query,
        segment_changes.Query,
        reports.Query,
        operations.Query,
        equity.Query,
        history.Query,
        events.Query,
        ownership.Query,
        keys.Query,
    ),
)
Mutation = idempotent(
    merge_types(
        "Mutation",
        (
            settings.Mutation,
            engagement.Mutation,
            disputes.Mutation,
            segment_changes.Mutation,
            scoring.Mutation,
            accounts.Mutation,
            reps.Mutation,
            territories.Mutation,
            plans.Mutation,
            assignments.Mutation,
            rebalancing.Mutation,
            operations.Mutation,
            keys.Mutation,
        ),
    ),
    secret=keys.SECRET_MUTATIONS,
)


def _mask(error: GraphQLError) -> bool:
    original = getattr(error, "original_error", None)
    return original is not None and not isinstance(original, DomainError | GraphQLError)


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        QueryDepthLimiter(max_depth=10),
        MaxTokensLimiter(max_token_count=5_000),
        MaxAliasesLimiter(max_alias_count=30),
        MaskErrors(should_mask_error=_mask, error_message="internal_error"),
    ],
)

_IDE = (Path(__file__).resolve().parent.parent / "static" / "graphiql.html").read_text()


class _Router(GraphQLRouter):
    async def render_graphql_ide(self, request: Request) -> Any:
        from fastapi.responses import HTMLResponse

        return HTMLResponse(_IDE)


def graphql_router() -> GraphQLRouter:
    return _Router(schema, context_getter=get_context)
