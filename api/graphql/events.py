"""The change feed: events after a position in the change log."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.common import call, output_type
from api.services import events as es
from api.services import events as service

strawberry.enum(es.EventType, name="EventType")
Event = output_type(es.EventRead, "Event")
EventPage = output_type(es.EventPage, "EventPage")


@strawberry.type
class Query:
    @strawberry.field(description="Events after a position in the change log, oldest first (the feed)")
    async def events(
        self,
        info: Info,
        after: int = 0,
        types: list[es.EventType] | None = None,
        first: int | None = None,
    ) -> EventPage:  # type: ignore[valid-type]
        c = info.context
        wanted = [t.value for t in types or []]
        page = await call(service.list_events(c.ctx, c.principal, after, wanted, first))
        return es.EventPage.model_validate(page.model_dump(mode="json"))  # the data as JSON
