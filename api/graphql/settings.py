"""The tenant's settings: read them, replace the overrides."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.common import ExpectedVersion, Problem, attempt, call, expected, result
from api.services import settings as service
from domain.defaults import settings_to_dict
from domain.errors import Code, FieldError, ValidationFailed


@strawberry.type(description="The tenant's settings: version, overrides and the effective values")
class Settings:
    version: int
    overrides: JSON
    effective: JSON


SettingsResult = result(Settings, "SettingsResult")


def _settings(found: service.SettingsRead) -> Settings:
    return Settings(
        version=found.version, overrides=found.overrides, effective=settings_to_dict(found.effective)
    )


def _overrides(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValidationFailed(
            "overrides must be an object of sections",
            [FieldError("overrides", Code.INVALID_TYPE, 'expected {"section": {"setting": value}}')],
        )
    return value


@strawberry.type
class Query:
    @strawberry.field(description="The tenant's settings (admin scope)")
    async def settings(self, info: Info) -> Settings:
        return _settings(await call(service.get_settings(info.context.ctx, info.context.principal)))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Replace the tenant's setting overrides (admin scope)")
    async def update_settings(
        self,
        info: Info,
        overrides: JSON,  # type: ignore[valid-type]
        expected_version: ExpectedVersion = None,
    ) -> SettingsResult:  # type: ignore[valid-type]
        c = info.context

        async def change() -> Any:  # the shape check inside attempt(): a bad one is a Problem too
            return await service.replace_settings(
                c.ctx, c.principal, _overrides(overrides), expected(expected_version)
            )

        found = await attempt(change(), schema_names=False)
        return found if isinstance(found, Problem) else _settings(found)
