"""The `territory` command: serve, migrate, manage tenants and keys, import, export, write the contract."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import click

from api.config import AppSettings
from domain.model import Role
from persistence.changes import ACTOR
from persistence.db import head_revision, is_sqlite, make_engine

KINDS = ["accounts", "reps", "activities", "opportunities"]
OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"


# Exit codes (README, "Command line"): 0 done, 1 refused or failed (one `Error: ...` line), 2 a usage error
# (click's), 3 the database cannot be reached.
EXIT_UNREACHABLE = 3


def _run(coro: Any) -> Any:
    return asyncio.run(_settled(coro))


async def _settled(coro: Any) -> Any:
    """`coro`, then, before the loop closes, the end of SQLite connection threads still answering (after a
    failed connect aiosqlite's thread delivers a last result; on a closed loop it printed a traceback
    after the command's one Error line)."""
    try:
        return await coro
    finally:
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and "_connection_worker_thread" in thread.name:
                await asyncio.to_thread(thread.join, 1.0)


class _Failure(click.ClickException):
    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def _one_line(exc: BaseException) -> click.ClickException:
    """An unexpected failure as one `Error: ...` line (the traceback only with TERRITORY_TRACEBACK=1)."""
    import socket

    from sqlalchemy.exc import DBAPIError, OperationalError

    from domain.errors import DomainError

    if isinstance(exc, DomainError):
        return _Failure(exc.detail)
    if isinstance(exc, OperationalError | ConnectionError | TimeoutError | socket.gaierror):
        url = AppSettings().database_url.split("@")[-1]
        return _Failure(f"cannot reach the database ({url}): {_first_line(exc)}", EXIT_UNREACHABLE)
    if isinstance(exc, DBAPIError):
        return _Failure(f"the database refused it: {_first_line(exc.orig or exc)}")
    return _Failure(f"{type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


class _Commands(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # one line too, naming the help to read (click printed the usage)
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            raise click.UsageError(f"{exc.format_message()} (see '{where} --help')") from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("TERRITORY_TRACEBACK"):
                raise
            raise _one_line(exc) from exc


async def _engine() -> Any:
    """The configured database's engine; the embedded SQLite default is brought to the latest migration first,
    as `serve` does, so every command works on a fresh file."""
    from persistence.db import upgrade

    url = AppSettings().database_url
    engine = make_engine(url)
    if is_sqlite(url):
        try:
            await upgrade(engine)
        except BaseException:
            await engine.dispose()
            raise
    return engine


@click.group(cls=_Commands)
@click.version_option(package_name="territory-engine", prog_name="territory")
def main() -> None:
    """Territory Engine."""
    ACTOR.set("cli")  # changes made from the command line are recorded as the CLI's


@main.command()
@click.option("--concurrency", default=4, show_default=True, type=int, help="Webhook endpoints at once.")
@click.option("--operations/--no-operations", default=True, help="Run long-running operations.")
@click.option("--webhooks/--no-webhooks", default=True, help="Deliver webhooks.")
def worker(concurrency: int, operations: bool, webhooks: bool) -> None:
    """Run a background worker: webhook delivery and long-running operations. Start as many as you like,
    on any hosts, against one PostgreSQL database: they share the work (FOR UPDATE SKIP LOCKED)."""
    import signal

    from api.services.context import AppContext
    from api.services.runner import Runner
    from api.services.worker import Worker
    from persistence.db import make_session_factory

    settings = AppSettings()

    async def go() -> None:
        engine = make_engine(settings.database_url)
        ctx = AppContext(engine=engine, session_factory=make_session_factory(engine), operations=Runner())
        running = Worker(
            ctx, webhooks, operations, settings.webhook_retry_scale, concurrency, settings.listen_database_url
        )
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
        click.echo(f"worker {ctx.operations.name}: webhooks={webhooks} operations={operations}", err=True)
        try:
            await running.run()
        except asyncio.CancelledError:
            click.echo("worker stopping", err=True)
        finally:
            await engine.dispose()

    _run(go())


def demo_key_file(database_url: str) -> Path | None:
    """Where `serve --demo` keeps the demo key: beside the SQLite file (`<file>.demo-key`); None for a
    server database (each start then prints a new key)."""
    if not is_sqlite(database_url) or ":memory:" in database_url or "///" not in database_url:
        return None
    return Path(database_url.split("///", 1)[1] + ".demo-key")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Create the demo tenant if absent and print an API key.")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Run the HTTP service (REST under /v1, GraphQL at /graphql)."""
    import uvicorn

    settings = AppSettings()

    async def prepare() -> str | None:
        from persistence.db import current_revision, upgrade

        engine = make_engine(settings.database_url)
        try:
            if is_sqlite(settings.database_url):
                await upgrade(engine)
            elif await current_revision(engine) != head_revision():
                click.echo(
                    "warning: the database is not at the latest migration; run 'territory db upgrade'",
                    err=True,
                )
            if demo:
                from api.services.context import AppContext
                from api.services.demo import ensure_demo
                from persistence.db import make_session_factory

                ctx = AppContext(engine=engine, session_factory=make_session_factory(engine))
                _, key, created = await ensure_demo(ctx, key_file=demo_key_file(settings.database_url))
                click.echo("demo tenant created" if created else "demo tenant already present")
                return key
            return None
        finally:
            await engine.dispose()

    key = _run(prepare())
    base = f"http://{host}:{port}"
    if key:
        click.echo(f"demo API key: {key}")
    click.echo(f"REST docs: {base}/docs")
    click.echo(f"GraphQL:   {base}/graphql")
    sys.stdout.flush()
    if workers > 1:
        _serve_processes(host, port, workers, settings.log_level)
        return
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=False,
    )


def _serve_processes(host: str, port: int, workers: int, log_level: str) -> None:
    """N independent uvicorn processes, each with its own socket on the same port (SO_REUSEPORT: the kernel
    spreads connections over them, where one shared socket let one process take them all) and TCP_NODELAY
    on it (uvicorn's own --workers leaves Nagle on, and each keep-alive request then waits ~40 ms for a
    delayed ACK). A process that dies is started again; SIGTERM or Ctrl-C stops them all."""
    import signal
    import socket
    import subprocess
    import time

    def start() -> subprocess.Popen:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it (Linux)
        sock.bind((host, port))
        fd = sock.fileno()
        cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--fd", str(fd)]
        cmd += ["--log-level", log_level, "--no-access-log"]
        try:
            return subprocess.Popen(cmd, pass_fds=[fd])
        finally:
            sock.close()  # the child holds its own copy

    procs = [start() for _ in range(workers)]
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        time.sleep(0.5)
        for i, proc in enumerate(procs):
            if proc.poll() is not None and not stopping:
                click.echo(
                    f"worker process {proc.pid} exited ({proc.returncode}); starting another", err=True
                )
                procs[i] = start()
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from persistence.db import upgrade

    async def go() -> None:
        engine = make_engine(AppSettings().database_url)
        await upgrade(engine, revision)
        await engine.dispose()

    _run(go())
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (use 'base' for an empty database)."""
    from persistence.db import downgrade

    async def go() -> None:
        engine = make_engine(AppSettings().database_url)
        await downgrade(engine, revision)
        await engine.dispose()

    _run(go())
    click.echo(f"database at {revision}")


@db.command("current")
def db_current() -> None:
    """Print the database's revision and the head revision."""
    from persistence.db import current_revision

    async def go() -> str | None:
        engine = make_engine(AppSettings().database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    click.echo(f"current: {_run(go())}  head: {head_revision()}")


@main.group()
def tenants() -> None:
    """Tenants and API keys."""


@tenants.command("create")
@click.argument("name")
@click.option("--scopes", default="read,write,admin", show_default=True)
def tenants_create(name: str, scopes: str) -> None:
    """Create tenant NAME and print its first API key (shown once)."""
    from persistence.keys import create_key
    from persistence.tenants import create_tenant, find_tenant

    async def go() -> str:
        engine = await _engine()
        try:
            if await find_tenant(engine, name) is not None:
                raise click.ClickException(f"tenant {name!r} already exists; use 'territory keys create'")
            tenant_id = await create_tenant(engine, name)
            _, key = await create_key(engine, tenant_id, _scopes(scopes), audit=True)
            return f"tenant {name} ({tenant_id})\nAPI key: {key}"
        finally:
            await engine.dispose()

    click.echo(_run(go()))


def _scopes(text: str) -> list[str]:
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    bad = set(scopes) - {"read", "write", "admin"}
    if bad or not scopes:
        raise click.BadParameter(f"scopes are read, write and admin (got {text!r})")
    return scopes


@main.group()
def keys() -> None:
    """API keys."""


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class _Duration(click.ParamType):
    """A length of time: `90` or `90s` seconds, `30m`, `12h`, `1d`, `2w`."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        unit = _UNITS.get(text[-1:]) if text else None
        number = text[:-1] if unit else text
        if not number.isdigit():
            self.fail(f"{value!r} is not a duration such as 90s, 30m, 12h, 1d or 2w", param, ctx)
        return int(number) * (unit or 1)


class _Expiry(click.ParamType):
    """When a key stops working: an ISO 8601 time with its zone, or a duration from now (30d)."""

    name = "time"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from datetime import UTC, datetime, timedelta

        from domain.defaults import MAX_KEY_EXPIRY_DAYS

        text = str(value).strip()
        if text.isdigit() or (text[:1].isdigit() and text[-1:].lower() in _UNITS):
            seconds = _Duration().convert(text, param, ctx)
            if seconds > MAX_KEY_EXPIRY_DAYS * 86400:
                self.fail(f"a key expires at most {MAX_KEY_EXPIRY_DAYS} days ahead", param, ctx)
            return datetime.now(UTC) + timedelta(seconds=seconds)
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{value!r} is neither an ISO 8601 time (2027-01-31T00:00Z) nor a duration (30d)", param, ctx
            )
        if when.tzinfo is None:
            self.fail(f"{value!r} has no time zone: add Z or an offset such as +01:00", param, ctx)
        return when


def _when(value: Any) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _key_table(keys: list[Any]) -> str:
    """The keys as an aligned table: id, name, prefix, scopes, status, created, expires, last used (UTC, to
    the minute)."""
    header = ("ID", "NAME", "PREFIX", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED")
    rows = [
        (
            str(k.id),
            k.name,
            k.prefix,
            ",".join(s.value for s in k.scopes),
            k.status.value,
            _when(k.created_at),
            _when(k.expires_at),
            _when(k.last_used_at),
        )
        for k in keys
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )


@keys.command("create")
@click.option("--tenant", required=True)
@click.option("--scopes", default="read", show_default=True)
@click.option("--name", default="key", show_default=True)
@click.option(
    "--expires", type=_Expiry(), help="When it stops working: an ISO 8601 time or a duration (30d)."
)
def keys_create(tenant: str, scopes: str, name: str, expires: Any) -> None:
    """Create another API key for a tenant (shown once)."""
    from datetime import UTC, datetime, timedelta

    from domain.defaults import MAX_KEY_EXPIRY_DAYS
    from persistence.keys import create_key
    from persistence.tenants import find_tenant

    chosen = _scopes(scopes)
    if expires is not None and expires <= datetime.now(UTC):
        raise click.BadParameter("the expiry must be in the future", param_hint="'--expires'")
    if expires is not None and expires - datetime.now(UTC) > timedelta(days=MAX_KEY_EXPIRY_DAYS):
        raise click.BadParameter(f"at most {MAX_KEY_EXPIRY_DAYS} days ahead", param_hint="'--expires'")

    async def go() -> str:
        engine = await _engine()
        try:
            tenant_id = await find_tenant(engine, tenant)
            if tenant_id is None:
                raise click.ClickException(f"no tenant {tenant!r}")
            _, key = await create_key(engine, tenant_id, chosen, name=name, expires_at=expires, audit=True)
            return key
        finally:
            await engine.dispose()

    click.echo(f"API key: {_run(go())}")


@keys.command("list")
@click.argument("tenant")
def keys_list(tenant: str) -> None:
    """List TENANT's API keys: status, expiry and last use (never their secrets)."""
    from api.services import keys as service

    async def go() -> list[Any]:
        ctx, principal = await _tenant_ctx(tenant)
        try:
            found: list[Any] = []
            token = None
            while True:
                page = await service.list_keys(ctx, principal, token, 500)
                found += page.items
                token = page.next_page_token
                if token is None:
                    return found
        finally:
            await ctx.engine.dispose()

    click.echo(_key_table(_run(go())))


async def _key_ctx(key_id: Any) -> tuple[Any, Any]:
    """The context and an admin principal of the tenant that holds the key."""
    from persistence.keys import get_key

    async def holder(engine: Any) -> Any:
        key = await get_key(engine, key_id)
        return None if key is None else key.tenant_id

    return await _admin_ctx(holder, f"no key {key_id}")


async def _admin_ctx(tenant_of: Any, missing: str) -> tuple[Any, Any]:
    """The context and an admin principal of the tenant `tenant_of(engine)` names (None: `missing`)."""
    from api.services.context import AppContext, Principal
    from persistence.db import make_session_factory

    engine = await _engine()
    try:
        tenant_id = await tenant_of(engine)
    except BaseException:  # the database cannot be read: its connections go with the error
        await engine.dispose()
        raise
    if tenant_id is None:
        await engine.dispose()
        raise click.ClickException(missing)
    ctx = AppContext(engine=engine, session_factory=make_session_factory(engine))
    return ctx, Principal(tenant_id, frozenset({"admin"}))


@keys.command("revoke")
@click.argument("key_id", type=click.UUID)
def keys_revoke(key_id: Any) -> None:
    """Revoke KEY_ID now (its next request is refused). Unlike the API, this may revoke a tenant's last
    admin key: the server's operator can always make another with `keys create`."""
    from persistence.keys import revoke_key

    async def go() -> Any:
        engine = await _engine()
        try:
            key = await revoke_key(engine, key_id, audit=True)
            if key is None:
                raise click.ClickException(f"no key {key_id}")
            return key
        finally:
            await engine.dispose()

    key = _run(go())
    click.echo(f"revoked {key.id} ({key.name}) at {_when(key.revoked_at)}")


@keys.command("rotate")
@click.argument("key_id", type=click.UUID)
@click.option(
    "--overlap",
    type=_Duration(),
    default="1d",
    show_default=True,
    help="How long the old key keeps working beside the new one (90s, 30m, 12h, 1d).",
)
def keys_rotate(key_id: Any, overlap: int) -> None:
    """Rotate KEY_ID: a new key with its name and scopes (shown once); the old one expires after --overlap."""
    from pydantic import ValidationError

    from api.services import keys as service
    from domain.defaults import MAX_KEY_ROTATION_OVERLAP_SECONDS

    try:
        body = service.KeyRotate(overlap_seconds=overlap)
    except ValidationError:
        most = MAX_KEY_ROTATION_OVERLAP_SECONDS // 86400
        raise click.BadParameter(f"the overlap is at most {most}d", param_hint="'--overlap'") from None

    async def go() -> Any:
        ctx, principal = await _key_ctx(key_id)
        try:
            return await service.rotate_key(ctx, principal, key_id, body)
        finally:
            await ctx.engine.dispose()

    rotated = _run(go())
    click.echo(f"API key: {rotated.key.secret}")
    until = _when(rotated.rotated.expires_at)
    click.echo(f"new key {rotated.key.id} ({rotated.key.name}); {key_id} works until {until} UTC")


async def _tenant_ctx(tenant: str) -> tuple[Any, Any]:
    from persistence.tenants import find_tenant

    return await _admin_ctx(lambda engine: find_tenant(engine, tenant), f"no tenant {tenant!r}")


@main.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", required=True, help="Tenant name.")
@click.option("--mode", type=click.Choice(["atomic", "partial"]), default="atomic", show_default=True)
def import_(kind: str, file: Path, tenant: str, mode: str) -> None:
    """Import KIND from FILE (.csv or .json), upserting by external id."""
    from api.services.imports import (
        ImportMode,
        ImportReport,
        import_records,
        needs_rescoring,
        records_from_csv,
        records_from_json,
    )
    from api.services.scoring import run_scoring
    from domain.errors import DomainError

    if file.suffix.lower() not in {".csv", ".json"}:
        raise click.BadParameter(f"{file.name}: give a .csv or a .json file", param_hint="FILE")
    body = file.read_bytes()
    if file.suffix.lower() == ".csv":
        header, records = records_from_csv(body)
        records = list(records)
    else:
        header, records = None, records_from_json(body)

    async def go() -> ImportReport:
        ctx, p = await _tenant_ctx(tenant)
        try:
            with click.progressbar(length=len(records), label=f"importing {kind}", file=sys.stderr) as bar:
                report = await import_records(
                    ctx, p, kind, records, ImportMode(mode), header=header, progress=bar.update
                )
            if needs_rescoring(kind, report):  # as the REST import does, right after the import
                run = await run_scoring(ctx, p)
                click.echo(
                    f"rescored {run.rescored} of {run.scored} accounts: {run.reason} (tiers {run.tiers})",
                    err=True,
                )
            return report
        finally:
            await ctx.engine.dispose()

    try:
        report = _run(go())
    except DomainError as exc:
        for e in exc.errors[:50]:
            click.echo(f"row {e.row}: {e.field}: {e.code}: {e.message}", err=True)
        raise click.ClickException(exc.detail)
    click.echo(
        json.dumps(
            report.model_dump(include={"created", "updated", "unchanged"}) | {"errors": len(report.errors)}
        )
    )
    for e in report.errors[:50]:
        click.echo(f"row {e.row}: {e.field}: {e.code}: {e.message}", err=True)


@main.group()
def coverage() -> None:
    """Coverage facts."""


@coverage.command("refresh")
@click.option("--tenant", required=True, help="Tenant name.")
def coverage_refresh(tenant: str) -> None:
    """Recompute a tenant's coverage facts from its activities (once, after upgrading to migration 0003)."""
    from api.services.coverage import CoverageRefreshRead, refresh_coverage

    async def go() -> CoverageRefreshRead:
        ctx, p = await _tenant_ctx(tenant)
        try:
            return await refresh_coverage(ctx, p)
        finally:
            await ctx.engine.dispose()

    result = _run(go())
    click.echo(f"coverage facts of {result.accounts_with_facts} accounts in {result.seconds} s")


@main.command("optimize")
@click.option("--tenant", required=True, help="Tenant name.")
@click.option("--plan", "plan_id", type=click.UUID, default=None, help="Default: the active plan.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="AE", show_default=True)
@click.option("--name", default=None, help="The draft's name.")
@click.option("--potential-band", type=float, default=None, help="Default: the tenant's setting (0.10).")
@click.option("--capacity-band", type=float, default=None, help="Default: the tenant's setting (0.20).")
@click.option("--no-expertise", is_flag=True, help="Ignore the expertise industries.")
@click.option("--split-families", is_flag=True, help="Let subsidiaries move apart from their parent.")
def optimize(
    tenant: str,
    plan_id: Any,
    role: str,
    name: str | None,
    potential_band: float | None,
    capacity_band: float | None,
    no_expertise: bool,
    split_families: bool,
) -> None:
    """Balance a plan: write the optimiser's proposal into a new draft plan, with a progress bar. The run
    is an operation like `POST /v1/plans/{id}/optimize`, listed by `GET /v1/operations`."""
    from pydantic import ValidationError

    from api.services.operations import OperationRead, get_operation
    from api.services.rebalancing import OptimizeRequest, start_optimize
    from api.services.runner import Runner
    from domain.errors import DomainError

    try:
        request = OptimizeRequest(
            name=name,
            role=role,
            potential_band=potential_band,
            capacity_band=capacity_band,
            expertise=not no_expertise,
            keep_families=False if split_families else None,
        )
    except ValidationError as exc:
        raise click.BadParameter("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()))

    async def go() -> OperationRead:
        ctx, p = await _tenant_ctx(tenant)
        ctx.operations = runner = Runner()
        try:
            target = plan_id
            if target is None:
                async with ctx.uow(p.tenant_id) as uow:
                    active = await uow.plans.active()
                if active is None:
                    raise click.ClickException("the tenant has no active plan; name one with --plan")
                target = active.id
            working = asyncio.create_task(runner.run(ctx))  # this process is a worker too
            op = await start_optimize(ctx, p, target, request)

            async def state() -> tuple[bool, float, str]:
                """Done?, progress and message: live from this process's run, else from the row (a
                `territory worker` elsewhere may have taken it)."""
                row = await get_operation(ctx, p, op.id)
                live = runner.reporters.get(op.id)
                done = row.state not in ("queued", "running")
                if live is not None and not done:
                    return False, live.fraction, live.message
                return done, row.progress, row.message or ""

            if sys.stderr.isatty():
                shown = 0
                with click.progressbar(
                    length=100, label="optimising", file=sys.stderr, show_eta=False
                ) as bar:
                    while True:
                        done, fraction, _ = await state()
                        bar.update(int(fraction * 100) - shown, None)
                        shown = int(fraction * 100)
                        if done:
                            break
                        await asyncio.sleep(0.2)
            else:  # a log, not a terminal: one line per stage
                said = None
                while True:
                    done, fraction, message = await state()
                    line = f"optimising {fraction:4.0%} {message}"
                    if line != said:
                        click.echo(line, err=True)
                        said = line
                    if done:
                        break
                    await asyncio.sleep(0.2)
            working.cancel()
            return await get_operation(ctx, p, op.id)
        finally:
            await runner.close()
            await ctx.engine.dispose()

    try:
        done = _run(go())
    except DomainError as exc:
        raise click.ClickException(exc.detail)
    if done.state != "succeeded" or done.result is None:
        detail = done.error.detail if done.error is not None else None
        raise click.ClickException(f"{done.state.value}: {detail or done.message}")
    result = done.result
    summary = {
        "operation": str(done.id),
        "draft_plan_id": str(result.plan_id),
        "moves": result.moves.count,
        "weighted_moves": result.weighted_moves,
        "lower_bound": result.lower_bound,
        "gap": result.gap,
        "violations": result.violations,
        "infeasible": result.infeasible,
        "warnings": result.warnings,
    }
    click.echo(json.dumps(summary, indent=2))


@main.command("export")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--tenant", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: standard output."
)
def export(kind: str, tenant: str, fmt: str, output: Path | None) -> None:
    """Export every KIND in the import format."""
    from api.services.imports import export_records

    async def go() -> None:
        ctx, p = await _tenant_ctx(tenant)
        try:
            out = output.open("wb") if output else sys.stdout.buffer
            async for chunk in await export_records(ctx, p, kind, fmt):
                out.write(chunk)
            out.flush()
            if output:
                out.close()
        finally:
            await ctx.engine.dispose()

    _run(go())


def render_contract() -> dict[str, str]:
    from api.app import create_app
    from api.graphql.schema import schema

    app = create_app(AppSettings(database_url="sqlite+aiosqlite:///:memory:"))
    return {
        "openapi.json": json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        "schema.graphql": schema.as_str() + "\n",
    }


@main.command("export-schema")
@click.option("--check", is_flag=True, help="Fail if the committed files differ instead of writing them.")
def export_schema(check: bool) -> None:
    """Write openapi/openapi.json and openapi/schema.graphql from the code."""
    stale = []
    for name, text in render_contract().items():
        path = OPENAPI_DIR / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            click.echo(f"wrote {path}")
    if stale:
        raise click.ClickException(f"out of date: {', '.join(stale)}; run 'territory export-schema'")


if __name__ == "__main__":
    main()
