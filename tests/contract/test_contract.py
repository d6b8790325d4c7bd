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


def test_patch_bodies_say_which_fields_refuse_null_and_lists_their_page_size():
    """Found by the fuzzer: PATCH fields that refuse null (null_not_allowed) showed null as allowed, and
    two lists took any page size in the contract while the server refuses more than 500."""
    spec = json.loads((OPENAPI_DIR / "openapi.json").read_text())
    schemas = spec["components"]["schemas"]

    def allows_null(prop: dict) -> bool:
        return prop.get("type") == "null" or any(a.get("type") == "null" for a in prop.get("anyOf", []))

    assert not allows_null(schemas["AccountUpdate"]["properties"]["stage"])
    assert not allows_null(schemas["AccountUpdate"]["properties"]["name"])
    assert allows_null(schemas["AccountUpdate"]["properties"]["parent_id"])  # null clears the parent
    assert not allows_null(schemas["PlanUpdate"]["properties"]["name"])
    assert not allows_null(schemas["AssignmentUpdate"]["properties"]["locked"])
    assert allows_null(schemas["AssignmentUpdate"]["properties"]["territory_id"])
    for path in ("/v1/operations", "/v1/disputes"):
        size = next(q for q in spec["paths"][path]["get"]["parameters"] if q["name"] == "page_size")
        bounds = size["schema"].get("anyOf", [size["schema"]])[0]
        assert bounds.get("maximum") == 500, path
