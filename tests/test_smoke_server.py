"""One smoke test against a real uvicorn on a free port: `territory serve --demo` end to end."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_demo_answers_lookups_rest_and_graphql(tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "TERRITORY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'smoke.db'}"}
    cmd = [sys.executable, "-m", "api.cli", "serve", "--demo", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        key, lines = None, []
        deadline = time.time() + 60
        while time.time() < deadline and key is None:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("demo API key: "):
                key = line.split(": ", 1)[1].strip()
        assert key, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {key}"}
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
        q = {"query": "{ plans { name state } }"}
        assert httpx.post(f"{base}/graphql", json=q, headers=headers).json() == {
            "data": {"plans": [{"name": "FY27 geographic", "state": "ACTIVE"}]}
        }
        enterprise = httpx.get(
            f"{base}/v1/accounts", params={"segment": "enterprise", "page_size": 100}, headers=headers
        ).json()["items"]
        assert len(enterprise) == 20
        assert httpx.get(f"{base}/v1/accounts").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
