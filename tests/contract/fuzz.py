"""Runs schemathesis (every check) against `territory serve --demo` on a fresh SQLite file; .ci/run calls it.

Not a pytest module (no test_ prefix): it serves the app over a real socket and takes a time budget.
Usage: python tests/contract/fuzz.py [--seed N] [--max-time SECONDS]
Exit status: schemathesis's own (non-zero on any failure). Known rejections: docs/http.md, Fuzzing exclusions.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
# every check runs; what a check accepts beyond schemathesis's defaults is in this file, each with its
# reason in docs/http.md, Fuzzing exclusions
CONFIG = Path(__file__).with_name("schemathesis.toml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: str, port: int) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, TERRITORY_DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/fuzz.db")
    # rate limits off: at the fuzzer's pace one key's budget would be spent in seconds, and every answer
    # after it a 429 (documented, so not a failure, but nothing fuzzed); tests/api/test_rate_limits.py
    env.update(TERRITORY_RATE_LIMIT="", TERRITORY_RATE_LIMIT_LOOKUP="")
    env.pop("TERRITORY_TEST_DATABASE_URL", None)
    server = subprocess.Popen(
        [str(BIN / "territory"), "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    key = None
    deadline = time.monotonic() + 60
    while key is None and time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        match = re.search(r"demo API key: (\S+)", line)
        key = match.group(1) if match else None
    # keep reading the server's log so its pipe never fills (a full pipe stalls the server)
    stdout = server.stdout
    threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()
    if key is None:
        server.kill()
        raise SystemExit("the server printed no demo API key")
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    return server, key


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-time", type=int, default=90)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        server, key = start_server(workdir, port)
        try:
            command = [
                str(BIN / "schemathesis"),
                "--config-file",
                str(CONFIG),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "all",
                "--seed",
                str(args.seed),
                "--max-time",
                str(args.max_time),
                "--request-timeout",
                "20",
                "--workers",
                "1",
                "--no-color",
            ]
            print("+", " ".join(command).replace(key, "KEY"), flush=True)
            hooks = {"SCHEMATHESIS_HOOKS": "fuzz_hooks", "PYTHONPATH": str(Path(__file__).parent)}
            return subprocess.call(command, env=dict(os.environ, **hooks))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
