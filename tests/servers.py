"""A real server for the tests that need one (a browser, several workers): `territory serve --demo` on a
free port and a fresh SQLite file."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_server(
    tmp_path: Path, workers: int = 1, output: list[str] | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """Start `territory serve --demo`; yield its base URL and the headers with the printed demo key. With
    `output`, everything it printed, to its last line (its child processes' too), once it has stopped."""
    port = free_port()
    env = {**os.environ, "TERRITORY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'smoke.db'}"}
    cmd = [sys.executable, "-m", "api.cli", "serve", "--demo", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    reader = None
    try:
        key, lines = None, []
        deadline = time.time() + 60
        while time.time() < deadline and key is None:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("demo API key: "):
                key = line.split(": ", 1)[1].strip()
        assert key, "".join(lines)
        # keep reading what it prints (access logs), or a full pipe would stall the server mid-test
        kept = lines if output is None else output
        if output is not None:
            output.extend(lines)
        reader = threading.Thread(target=lambda: kept.extend(proc.stdout), daemon=True)
        reader.start()
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, {"Authorization": f"Bearer {key}"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if output is not None and reader is not None:
            reader.join(timeout=10)  # to the end of the pipe: the processes it started write to it too
