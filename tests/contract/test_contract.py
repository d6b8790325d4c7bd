"""The committed OpenAPI document and GraphQL SDL match what the code serves."""

import json

from api.cli import OPENAPI_DIR, render_contract


def test_committed_contract_matches_the_code():
    for name, text in render_contract().items():
        committed = (OPENAPI_DIR / name).read_text()
        assert committed == text, f"openapi/{name} is out of date: run 'territory export-schema'"


def test_openapi_is_3_1_with_operation_ids_tags_and_documented_errors():
    spec = json.loads((OPENAPI_DIR / "openapi.json").read_text())
    assert spec["openapi"].startswith("3.1")
    ids = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ids.append(op["operationId"])
            assert op.get("tags"), (method, path)
            if path.startswith("/v1/"):
                assert "401" in op["responses"] and "422" in op["responses"], (method, path)
                assert "application/problem+json" in op["responses"]["401"]["content"]
    assert len(ids) == len(set(ids))
    assert {"get_ownership", "lookup_ownership", "import_accounts", "list_accounts"} <= set(ids)
