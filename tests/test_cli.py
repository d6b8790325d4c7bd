"""The `territory` command: migrations, tenants and keys, import with a progress bar, export."""

import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from api.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("TERRITORY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_db_tenants_keys_import_and_export(cli, tmp_path):
    assert "database at head" in cli("db", "upgrade").output
    assert re.search(r"current: (\w+)\s+head: \1", cli("db", "current").output)
    created = cli("tenants", "create", "acme").output
    assert re.search(r"API key: te_\S+", created)
    assert "already exists" in cli("tenants", "create", "acme", ok=False).output
    assert "API key: te_" in cli("keys", "create", "--tenant", "acme", "--scopes", "read").output
    assert cli("keys", "create", "--tenant", "acme", "--scopes", "root", ok=False).exit_code != 0

    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text("external_id,name,parent_external_id\nP,Parent,\nC,Child,P\n")
    result = cli("import", "accounts", str(csv_file), "--tenant", "acme")
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
    }
    assert "importing accounts" in result.stderr
    assert "rescored 2 of 2 accounts" in result.stderr  # an import that changes accounts rescores, as REST

    bad = tmp_path / "bad.csv"
    bad.write_text("external_id,name,employees\nX,x,many\n")
    result = cli("import", "accounts", str(bad), "--tenant", "acme", ok=False)
    assert result.exit_code != 0 and "row 1: employees: invalid_number" in result.stderr

    out = tmp_path / "out.csv"
    cli("export", "accounts", "--tenant", "acme", "-o", str(out))
    rows = [line.split(",")[:3] for line in out.read_text().splitlines()[1:]]
    assert rows == [["C", "Child", "P"], ["P", "Parent", ""]]
    assert (
        json.loads(cli("export", "accounts", "--tenant", "acme", "--format", "json").stdout)[0]["external_id"]
        == "C"
    )
    assert "no tenant" in cli("export", "accounts", "--tenant", "nobody", ok=False).output

    acts = tmp_path / "activities.csv"
    acts.write_text(
        "external_id,account_external_id,occurred_at,kind,contact\nA1,P,2026-01-05T10:00:00Z,call,CFO\n"
    )
    cli("import", "activities", str(acts), "--tenant", "acme")
    assert "coverage facts of 1 accounts" in cli("coverage", "refresh", "--tenant", "acme").output


def _key_rows(cli, tenant: str) -> dict[str, dict[str, str]]:
    lines = cli("keys", "list", tenant).output.strip().splitlines()
    header = lines[0].split()
    assert header == ["ID", "NAME", "PREFIX", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST", "USED"]
    rows = {}
    for line in lines[1:]:
        cells = line.split()
        rows[cells[0]] = {"name": cells[1], "prefix": cells[2], "scopes": cells[3], "status": cells[4]}
    return rows


def test_keys_list_revoke_and_rotate(cli, tmp_path):
    first = re.search(r"API key: (te_\S+)", cli("tenants", "create", "acme").output).group(1)
    made = cli(
        "keys", "create", "--tenant", "acme", "--scopes", "read", "--name", "lookup", "--expires", "30d"
    )
    lookup = re.search(r"API key: (te_\S+)", made.output).group(1)
    rows = _key_rows(cli, "acme")
    assert sorted((r["name"], r["scopes"], r["status"]) for r in rows.values()) == [
        ("default", "admin,read,write", "active"),
        ("lookup", "read", "expiring"),
    ]
    assert (
        first not in cli("keys", "list", "acme").output and lookup not in cli("keys", "list", "acme").output
    )
    lookup_id = next(i for i, r in rows.items() if r["name"] == "lookup")

    rotated = cli("keys", "rotate", lookup_id, "--overlap", "2h").output
    new_secret = re.search(r"API key: (te_\S+)", rotated).group(1)
    assert new_secret != lookup and f"{lookup_id} works until" in rotated
    rows = _key_rows(cli, "acme")
    # both expire: the old one after the overlap, the new one after the old one's lifetime (30 days)
    assert [r["status"] for r in rows.values() if r["name"] == "lookup"] == ["expiring", "expiring"]

    assert "revoked " + lookup_id in cli("keys", "revoke", lookup_id).output
    assert _key_rows(cli, "acme")[lookup_id]["status"] == "revoked"
    refused = cli("keys", "rotate", lookup_id, ok=False)
    assert (
        refused.exit_code == 1
        and refused.output == "Error: the key is revoked, so it cannot be rotated; create a new key\n"
    )

    # the operator may revoke the last admin key (the API refuses it): `keys create` makes another
    admin_id = next(i for i, r in rows.items() if r["name"] == "default")
    assert cli("keys", "revoke", admin_id).exit_code == 0
    # each in the tenant's log as an event, made by the CLI
    with sqlite3.connect(tmp_path / "cli.db") as db:
        logged = db.execute("SELECT cause, actor FROM change_log WHERE kind = 'key' ORDER BY seq").fetchall()
    assert logged == [(a, "cli") for a in ("created", "created", "rotated", "revoked", "revoked")]


def test_key_commands_refuse_bad_input_with_one_error_line(cli):
    cli("tenants", "create", "acme")
    unknown = cli("keys", "revoke", "00000000-0000-0000-0000-000000000000", ok=False)
    assert (unknown.exit_code, unknown.output) == (1, "Error: no key 00000000-0000-0000-0000-000000000000\n")
    assert cli("keys", "rotate", "00000000-0000-0000-0000-000000000000", ok=False).exit_code == 1
    assert cli("keys", "list", "nobody", ok=False).output == "Error: no tenant 'nobody'\n"
    for args, says in (
        (("keys", "revoke", "not-an-id"), "is not a valid UUID"),
        (("keys", "rotate", "00000000-0000-0000-0000-000000000000", "--overlap", "5x"), "not a duration"),
        (("keys", "rotate", "00000000-0000-0000-0000-000000000000", "--overlap", "90d"), "at most 30d"),
        (("keys", "create", "--tenant", "acme", "--expires", "2020-01-01T00:00Z"), "must be in the future"),
        (("keys", "create", "--tenant", "acme", "--expires", "2030-01-01"), "has no time zone"),
        (("keys", "create", "--tenant", "acme", "--expires", "soon"), "neither an ISO 8601 time"),
        (("keys", "create", "--tenant", "acme", "--expires", "99999999999d"), "at most 3650 days"),
        (("keys", "create", "--tenant", "acme", "--expires", "9999-12-31T00:00Z"), "at most 3650 days"),
    ):
        result = cli(*args, ok=False)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output  # no usage block before it
        assert result.output.startswith("Error: ") and "--help')" in result.output, result.output
        assert says in result.output, result.output


def test_export_schema_check_passes_on_the_committed_contract(cli):
    assert cli("export-schema", "--check").exit_code == 0


def test_optimize_shows_progress_and_writes_a_draft(cli, tmp_path):
    import asyncio

    from api.services.context import AppContext
    from api.services.demo import ensure_demo
    from persistence.db import make_engine, make_session_factory

    cli("db", "upgrade")

    async def demo() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
        try:
            await ensure_demo(AppContext(engine=engine, session_factory=make_session_factory(engine)))
        finally:
            await engine.dispose()

    asyncio.run(demo())
    result = cli("optimize", "--tenant", "demo", "--name", "Balanced", "--potential-band", "0.15")
    assert "optimising" in result.stderr and "100% done" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["draft_plan_id"] and summary["moves"] >= 0
    assert summary["lower_bound"] is None or summary["lower_bound"] <= summary["weighted_moves"] + 1e-9
    bad = cli("optimize", "--tenant", "demo", "--potential-band", "3", ok=False)
    assert bad.exit_code != 0 and "potential_band" in bad.output
    assert "no tenant" in cli("optimize", "--tenant", "nobody", ok=False).output


def test_version_and_a_fresh_embedded_file_needs_no_upgrade_first(cli):
    assert cli("--version").output.startswith("territory, version ")
    # no `db upgrade` first: the embedded default is brought to the latest migration by the command itself
    assert "API key: te_" in cli("tenants", "create", "fresh").output
    assert re.search(r"current: (\w+)\s+head: \1", cli("db", "current").output)


def test_failures_are_one_error_line_with_a_documented_exit_code(cli, tmp_path, monkeypatch):
    cli("tenants", "create", "acme")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"external_id": ')
    result = cli("import", "accounts", str(broken), "--tenant", "acme", ok=False)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith("Error: the body is not valid JSON")

    text = tmp_path / "accounts.txt"
    text.write_text("external_id,name\n")
    result = cli("import", "accounts", str(text), "--tenant", "acme", ok=False)
    assert result.exit_code == 2 and "give a .csv or a .json file" in result.output

    result = cli("optimize", "--tenant", "acme", "--role", "VP", ok=False)
    assert result.exit_code == 2 and "'AE', 'SDR', 'CSM'" in result.output

    monkeypatch.setenv("TERRITORY_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:1/none")
    result = cli("keys", "create", "--tenant", "acme", ok=False)
    assert result.exit_code == 3
    assert result.output.startswith("Error: cannot reach the database (127.0.0.1:1/none)")
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1

    monkeypatch.setenv("TERRITORY_DATABASE_URL", "postgresql+asyncpg://postgres@no-such-host.invalid/none")
    result = cli("keys", "create", "--tenant", "acme", ok=False)  # a host that does not resolve: unreachable
    assert result.exit_code == 3
    assert result.output.startswith("Error: cannot reach the database (no-such-host")


def test_a_database_file_that_cannot_be_opened_is_one_line_every_time(tmp_path):
    """In a real process: aiosqlite's thread used to print a traceback after the Error line when it
    answered after the loop closed (about one run in three)."""
    env = {**os.environ, "TERRITORY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/x.db"}
    command = [sys.executable, "-m", "api.cli", "tenants", "create", "z"]
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)
    ]
    for run in runs:
        output = run.communicate(timeout=60)[0].decode()
        assert run.returncode == 3 and output.startswith("Error: cannot reach the database"), output
        assert len(output.strip().splitlines()) == 1, output
