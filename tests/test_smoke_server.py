"""Smoke tests against a real uvicorn on a free port: `territory serve --demo`, with one and two workers."""

import time
from pathlib import Path

import httpx

from tests.servers import demo_server


def test_serve_demo_answers_lookups_rest_and_graphql(tmp_path: Path):
    printed: list[str] = []
    with demo_server(tmp_path, output=printed) as (base, headers):
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        owner = httpx.get(f"{base}/v1/ownership/ENT-001", headers=headers).json()
        assert owner["status"] == "owned" and owner["rep"]["name"]
        accounts = httpx.get(f"{base}/v1/accounts", params={"page_size": 500}, headers=headers).json()
        assert len(accounts["items"]) == 500 and accounts["next_page_token"]
        reps = httpx.get(f"{base}/v1/reps", headers=headers).json()["items"]
        assert len(reps) == 10 and {r["ramp_status"] for r in reps} == {
            "new_hire",
            "ramping",
            "ramped",
            "senior",
        }
        q = {"query": "{ plans { nodes { name state } } }"}
        assert httpx.post(f"{base}/graphql", json=q, headers=headers).json() == {
            "data": {"plans": {"nodes": [{"name": "FY27 geographic", "state": "ACTIVE"}]}}
        }
        enterprise = httpx.get(
            f"{base}/v1/accounts", params={"segment": "enterprise", "page_size": 100}, headers=headers
        ).json()["items"]
        assert len(enterprise) == 20
        assert httpx.get(f"{base}/v1/accounts").status_code == 401
        for _ in range(100):  # the index built in its own process: lookups answer from it
            answer = httpx.get(f"{base}/v1/ownership/ENT-001", headers=headers)
            if answer.headers["ownership-source"] == "index":
                break
            time.sleep(0.05)
        assert answer.headers["ownership-source"] == "index"
    # stopped by SIGTERM: the build process and its queues go with it, nothing left for the tracker
    assert not [line for line in printed if "leaked" in line or "Traceback" in line], printed[-20:]


def test_two_workers_answer_the_new_owner_right_after_a_change(tmp_path: Path):
    with demo_server(tmp_path, workers=2) as (base, headers):
        for _ in range(40):  # new connections: the kernel spreads them over both workers; all build snapshots
            assert httpx.get(f"{base}/v1/ownership/SMB-0001", headers=headers).json()["status"] == "owned"
        time.sleep(1.5)
        owner = httpx.get(f"{base}/v1/ownership/SMB-0001", headers=headers).json()
        others = httpx.get(f"{base}/v1/reps", headers=headers).json()["items"]
        new_rep = next(r for r in others if r["id"] != owner["rep"]["id"])
        current = httpx.get(
            f"{base}/v1/assignments", params={"account_id": owner["account"]["id"]}, headers=headers
        ).json()["items"][0]
        r = httpx.patch(
            f"{base}/v1/assignments/{current['id']}", json={"rep_id": new_rep["id"]}, headers=headers
        )
        assert r.status_code == 200
        for _ in range(40):
            got = httpx.get(f"{base}/v1/ownership/SMB-0001", headers=headers).json()
            assert got["rep"]["id"] == new_rep["id"]


def test_serve_demo_comes_scored_with_coverage_and_keeps_its_key(tmp_path: Path):
    with demo_server(tmp_path) as (base, headers):
        first_key = headers["Authorization"]
        account = httpx.get(f"{base}/v1/accounts", params={"page_size": 1}, headers=headers).json()["items"][
            0
        ]
        score = httpx.get(f"{base}/v1/accounts/{account['id']}/score", headers=headers)
        assert score.status_code == 200 and score.json()["tier"] in (1, 2, 3)
        covered = httpx.get(f"{base}/v1/coverage", headers=headers).json()
        assert covered["total"]["accounts"] == 520
        assert all(t["tier"] is not None for t in covered["by_tier"])  # every account has its tier
        page = httpx.get(f"{base}/v1/coverage/accounts", params={"page_size": 500}, headers=headers).json()
        assert any(i["last_touch_at"] for i in page["items"])  # the facts are there without a refresh
    assert (tmp_path / "smoke.db.demo-key").read_text().strip() == first_key.split()[1]
    with demo_server(tmp_path) as (base, headers):
        assert headers["Authorization"] == first_key  # the same key, not one more admin key
        assert httpx.get(f"{base}/v1/reps", headers=headers).status_code == 200
