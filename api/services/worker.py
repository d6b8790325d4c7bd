"""The background worker: webhook delivery and long-running operations, taken from the database so that
any number of worker processes on any hosts share them (docs/change-stream.md, running at scale). It runs
as `territory worker`, or inside each API process (`worker_in_process`, the default, so that the embedded
set-up needs one command)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from api.services import (  # noqa: F401  (register the operations it runs: assign_by_rules, optimize, scoring)
    assigning,
    rebalancing,
    scoring,
)
from api.services.context import AppContext
from api.services.delivery import Deliverer


class Worker:
    def __init__(
        self,
        ctx: AppContext,
        webhooks: bool = True,
        operations: bool = True,
        retry_scale: float = 1.0,
        delivery_concurrency: int = 4,
        listen_url: str | None = None,
    ):
        self.ctx = ctx
        self.webhooks = webhooks
        self.operations = operations
        if webhooks:
            ctx.deliverer = Deliverer(ctx, delivery_concurrency, retry_scale, listen_url=listen_url)
        self._task: asyncio.Task[Any] | None = None

    async def run(self) -> None:
        jobs = []
        if self.webhooks:
            jobs.append(self.ctx.deliverer.run())
        if self.operations:
            jobs.append(self.ctx.operations.run(self.ctx))
        try:
            await asyncio.gather(*jobs)
        finally:
            await self.ctx.operations.close()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
