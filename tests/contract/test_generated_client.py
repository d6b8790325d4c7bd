"""A client generated from the committed contract by openapi-python-client (README.md, "Generating a
client") comes out without a warning, types what the contract types, and works against the app."""

from __future__ import annotations

import csv
import importlib
import inspect
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import OPENAPI_TAGS
from api.cli import OPENAPI_DIR

BIN = Path(sys.executable).parent
GENERATOR = BIN / "openapi-python-client"
CONFIG = OPENAPI_DIR / "openapi-python-client.yaml"
PACKAGE = "territory_client"


def test_every_tag_an_operation_carries_is_declared_with_a_description():
    spec = json.loads((OPENAPI_DIR / "openapi.json").read_text())
    declared = {t["name"]: t.get("description") for t in spec["tags"]}
    used = {t for ops in spec["paths"].values() for op in ops.values() for t in op["tags"]}
    assert used <= set(declared), sorted(used - set(declared))
    assert all(declared[t] for t in used)
    assert [t["name"] for t in spec["tags"]] == [t["name"] for t in OPENAPI_TAGS]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The generated package, imported (a missing generator fails here: it is in the dev extra)."""
    assert GENERATOR.exists(), f"{GENERATOR} is missing: pip install -e '.[dev]'"
    root = tmp_path_factory.mktemp("client")
    command = [
        str(GENERATOR),
        "generate",
        "--path",
        str(OPENAPI_DIR / "openapi.json"),
        "--output-path",
        str(root / PACKAGE),
        "--meta",
        "none",
        "--config",
        str(CONFIG),
    ]
    # its post hooks format the code with ruff, which is beside it
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_client_types_bodies_answers_and_fixed_values(generated):
    import enum

    status = _module("models.ownership_read_status").OwnershipReadStatus
    assert issubclass(status, enum.Enum)
    assert {s.value for s in status} == {"owned", "unassigned", "not_found"}
    assert {r.value for r in _module("models.role").Role} == {"AE", "SDR", "CSM"}
    kind = _module("models.activity_kind").ActivityKind
    assert {"email", "call", "meeting"} <= {k.value for k in kind}
    row = _module("models.account_import_row").AccountImportRow
    stage = _module("models.stage").Stage
    sent = row(external_id="A-1", name="Acme", stage=stage.CUSTOMER, employees=12).to_dict()
    assert sent == {"external_id": "A-1", "name": "Acme", "stage": "customer", "employees": 12}
    for kind in ("accounts", "reps", "activities", "opportunities"):
        assert hasattr(_module(f"api.import_.import_{kind}"), "asyncio_detailed")
        assert hasattr(_module(f"api.import_.import_{kind}_csv"), "asyncio_detailed")
    for name in ("get_coverage_review", "get_weekly_metrics", "get_territory_plan", "get_dispute_log"):
        assert hasattr(_module(f"api.reports.{name}_csv"), "sync")
    assert hasattr(_module("api.reports.get_territory_plan_html"), "sync")
    assert hasattr(_module("api.reports.get_coverage_review_html"), "sync")
    # the JSON operation takes no format: the client would parse a CSV or HTML answer as JSON and raise
    for name in ("reports.get_territory_plan", "reports.get_coverage_review", "coverage.get_coverage_report"):
        assert "format_" not in inspect.signature(_module(f"api.{name}").sync).parameters, name


async def test_the_client_imports_a_csv_file_and_reads_a_csv_report(generated, app, tenant):
    types = _module("types")
    client = _module("client").AuthenticatedClient(base_url="http://test", token=tenant.key)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {tenant.key}"}
    ) as http:
        client.set_async_httpx_client(http)
        body = b"external_id,name,annual_revenue\nG-1,Globex,50000000\nG-2,Initech,\n"
        csv_import = _module("api.import_.import_accounts_csv")
        # bytes, not a file object: httpx's AsyncClient sends no sync stream (a sync client takes either)
        answer = await csv_import.asyncio(client=client, body=types.File(payload=body))
        assert (answer.created, answer.updated, answer.errors) == (2, 0, [])

        rows = [_module("models.account_import_row").AccountImportRow(external_id="G-2", name="Initech Co")]
        answer = await _module("api.import_.import_accounts").asyncio(client=client, body=rows)
        assert (answer.created, answer.updated) == (0, 1)

        response = await _module("api.reports.get_coverage_review_csv").asyncio_detailed(client=client)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(response.content.decode())))
        assert table[0] == ["section", "item", "metric", "value"]
        overview = {r[2]: r[3] for r in table[1:] if r[0] == "overview"}
        assert overview["total_named_accounts"] == "2"

        review = await _module("api.reports.get_coverage_review").asyncio(client=client)
        assert review.overview.to_dict()["total_named_accounts"] == 2
        assert review.role.value == "AE"
