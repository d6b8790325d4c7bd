"""Tenant settings: the domain's numbers as the tenant overrides them, versioned."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, Field

from api.services.common import Input, check_version
from api.services.context import AppContext, Principal
from domain.defaults import TenantSettings, apply_overrides, check_settings, settings_to_dict
from domain.errors import ValidationFailed
from domain.model import Scope
from domain.preconditions import Precondition


class SettingsRead(BaseModel):
    version: int = Field(description="goes up by one with every change; results say which version made them")
    overrides: dict[str, dict[str, Any]] = Field(description="what the tenant changed from the defaults")
    effective: TenantSettings = Field(description="the defaults with the overrides applied")


class SettingsUpdate(Input):
    overrides: dict[str, dict[str, Any]] = Field(
        description="the tenant's overrides, replacing the previous ones, "
        'e.g. {"tiers": {"tier1_share": 0.15}}; {} returns to the defaults'
    )


def _answer(overrides: dict, version: int) -> SettingsRead:
    return SettingsRead.model_validate(
        {
            "version": version,
            "overrides": overrides,
            "effective": settings_to_dict(apply_overrides(overrides)),
        }
    )


async def get_settings(ctx: AppContext, p: Principal) -> SettingsRead:
    p.require(Scope.ADMIN)
    async with ctx.uow(p.tenant_id) as uow:
        overrides, version = await uow.settings_record()
        return _answer(overrides, version)


async def replace_settings(
    ctx: AppContext, p: Principal, overrides: dict[str, Any], precondition: Precondition | None = None
) -> SettingsRead:
    """Validate first (unknown keys, kinds, then the domain's rules); bad settings leave the old in force."""
    p.require(Scope.ADMIN)
    try:
        check_settings(apply_overrides(overrides))
    except ValidationFailed as exc:  # the paths from the body's root, as every other error names them
        exc.errors = [dataclasses.replace(e, field=f"overrides.{e.field}") for e in exc.errors]
        raise
    async with ctx.uow(p.tenant_id) as uow:
        _, current = await uow.settings_record()
        await check_version(uow, precondition, current, "settings document")
        version = await uow.replace_settings(overrides, current)
        await uow.commit()
        return _answer(overrides, version)
