"""Shared helpers for the benchmarks: fresh databases, a real server on a free port, deterministic rows."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("TERRITORY_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def emit(record: dict) -> None:
    """One JSON object per line, so runs can be compared."""
    print(json.dumps(record, sort_keys=True), flush=True)


async def fresh_pg_database(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))], 2)


def pg_url(name: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def account_csv(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    header = (
        "external_id,name,industry,country,region,postal_code,employees,annual_revenue,current_arr,stage\n"
    )
    industries = ["software", "healthcare", "retail", "manufacturing"]
    lines = [header]
    for i in range(n):
        lines.append(
            f"B-{i:07d},Company {i},{rng.choice(industries)},US,{'East' if i % 2 else 'West'},"
            f"{rng.randint(10000, 99999)},{rng.randint(1, 5000)},{rng.randint(1, 500) * 100000},"
            f"{rng.randint(0, 50) * 1000},{rng.choice(['cold', 'prospected', 'customer'])}\n"
        )
    return "".join(lines).encode()


KINDS = ("uvicorn", "uvicorn-nodelay", "gunicorn", "reuseport", "reuseport-nagle")


def _gunicorn_worker_class() -> str:
    """uvicorn 0.30+ deprecates uvicorn.workers in favour of the uvicorn-worker package: use it if present."""
    try:
        import uvicorn_worker  # noqa: F401

        return "uvicorn_worker.UvicornWorker"
    except ImportError:
        return "uvicorn.workers.UvicornWorker"


def _children(pid: int) -> list[int]:
    """Child processes, without multiprocessing's resource tracker (uvicorn's supervisor spawns one)."""
    try:
        pids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    out = []
    for child in pids:
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            out.append(child)
    return out


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """A real server on a free port serving an app factory, in one of three set-ups:

    - uvicorn: `python -m uvicorn --workers N`, as `territory serve` does (N > 1: a supervisor whose
      workers share one listening socket);
    - gunicorn: `gunicorn -k UvicornWorker -w N` (a master whose workers share one listening socket);
    - reuseport: N separate `uvicorn --fd` processes, each with its own socket bound to the same port
      with SO_REUSEPORT (the kernel spreads new connections over them by a hash of the address pair).

    uvicorn leaves Nagle's algorithm on when it is handed a bound socket (--workers N, --fd: its socket has
    proto 0 or family AF_UNIX, and asyncio then skips TCP_NODELAY; Kludex/uvicorn#3149), so each keep-alive
    request after the first waits for the client's delayed ACK (~40 ms). reuseport sets TCP_NODELAY on
    its listeners (accepted sockets inherit it on Linux); reuseport-nagle does not, to show the cost;
    uvicorn-nodelay is uvicorn --workers N with TCP_NODELAY on its listener (bench/uvicorn_nodelay.py), and
    gunicorn sets it itself.
    """

    def __init__(self, app: str, env: dict[str, str], workers: int = 1, kind: str = "uvicorn"):
        if kind not in KINDS:
            raise ValueError(f"server kind must be one of {KINDS}")
        self.kind = kind
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        # rate limits off unless the bench turns them on (bench/rate_limits.py): one key's lookups at full
        # speed would spend its budget in seconds and measure 429s
        environ = {**os.environ, "TERRITORY_RATE_LIMIT": "", "TERRITORY_RATE_LIMIT_LOOKUP": "", **env}
        quiet = ["--log-level", "warning", "--no-access-log"]
        if kind in ("uvicorn", "uvicorn-nodelay"):
            launcher = (
                ["-m", "uvicorn"]
                if kind == "uvicorn"
                else [str(Path(__file__).with_name("uvicorn_nodelay.py"))]
            )
            cmd = [sys.executable, *launcher, app, "--factory", "--host", "127.0.0.1"]
            cmd += ["--port", str(self.port), "--workers", str(workers), *quiet]
            self.procs.append(subprocess.Popen(cmd, env=environ, cwd=ROOT))
        elif kind == "gunicorn":
            module, _, factory = app.partition(":")
            cmd = [sys.executable, "-m", "gunicorn", f"{module}:{factory}()", "-k", _gunicorn_worker_class()]
            cmd += ["-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"]
            cmd += ["--graceful-timeout", "5"]
            if "PYTHONPATH" in env:
                cmd += ["--pythonpath", env["PYTHONPATH"]]
            self.procs.append(subprocess.Popen(cmd, env=environ, cwd=ROOT))
        else:
            for _ in range(workers):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if kind == "reuseport":
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.bind(("127.0.0.1", self.port))
                fd = sock.fileno()
                cmd = [sys.executable, "-m", "uvicorn", app, "--factory", "--fd", str(fd), *quiet]
                self.procs.append(subprocess.Popen(cmd, env=environ, cwd=ROOT, pass_fds=[fd]))
                sock.close()  # the child holds its own copy
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200 and (
                    len(self.worker_pids()) >= workers
                ):
                    return
            except httpx.TransportError:
                pass
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{kind} server did not start")

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: uvicorn with one worker serves in its own process; with
        more, and gunicorn always, the children of the supervisor do; reuseport: every process started."""
        if self.kind.startswith("reuseport"):
            return [p.pid for p in self.procs]
        main = self.procs[0].pid
        if self.kind.startswith("uvicorn") and self.workers == 1:
            return [main]
        return _children(main)

    def rss_mb(self) -> float:
        """Resident memory of every process of the server (supervisor and workers), from /proc (Linux)."""
        pids = {p.pid for p in self.procs} | set(self.worker_pids())
        return round(sum(_rss_kb(pid) for pid in pids) / 1024, 1)

    def worker_rss_mb(self) -> list[float]:
        return [round(_rss_kb(pid) / 1024, 1) for pid in self.worker_pids()]

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def _pid_jiffies(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def pg_backend_pids(database: str | None) -> list[int]:
    """PostgreSQL backends serving `database` (the benchmark's own), from pg_stat_activity."""
    if not database:
        return []

    async def read() -> list[int]:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
            return [r["pid"] for r in rows]
        finally:
            await conn.close()

    try:
        return asyncio.run(read())
    except Exception:  # not PostgreSQL, or not reachable: nothing to attribute
        return []


class CpuMeter:
    """The machine's CPU use over an interval, and the part of it the server, the load generators (wrk and
    the writer: waited-for children) and the benchmark database's PostgreSQL backends used, in CPUs (1.0:
    one core busy the whole time). Other sessions may share this machine: `other_cpu` is what none of
    these used; well above 0 means the figures were measured on a shared, busy machine."""

    def __init__(self, pids: list[int], database: str | None = None):
        self.pids = pids
        self.database = database
        self.db0 = {pid: _pid_jiffies(pid) for pid in pg_backend_pids(database)}
        self.start = time.perf_counter()
        self.busy0, self.total0 = _cpu_jiffies()
        self.pid0 = {pid: _pid_jiffies(pid) for pid in pids}
        self.children0 = os.times()

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.start
        busy, total = _cpu_jiffies()
        ncpu = os.cpu_count() or 1
        tick = os.sysconf("SC_CLK_TCK")
        machine = (busy - self.busy0) / max(1, total - self.total0) * ncpu
        per_worker = [(_pid_jiffies(pid) - j) / tick / elapsed for pid, j in self.pid0.items()]
        server = sum(per_worker)
        t = os.times()
        children = (t.children_user - self.children0.children_user) + (
            t.children_system - self.children0.children_system
        )
        load = children / elapsed
        db = sum(_pid_jiffies(pid) - self.db0.get(pid, 0) for pid in pg_backend_pids(self.database))
        db = db / tick / elapsed
        return {
            "cpus": ncpu,
            "machine_cpu": round(machine, 2),
            "server_cpu": round(server, 2),
            "worker_cpu": [round(w, 2) for w in per_worker],
            "load_gen_cpu": round(load, 2),
            "db_cpu": round(db, 2),
            "other_cpu": round(max(0.0, machine - server - load - db), 2),
        }


def wait_quiet(limit_s: float = 180.0, busy_below: float = 0.15) -> float:
    """Wait (at most `limit_s`) for a second in which the machine is nearly idle (under `busy_below` CPUs
    busy), since other sessions may share it; answers the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        busy0, total0 = _cpu_jiffies()
        time.sleep(1.0)
        busy, total = _cpu_jiffies()
        if (busy - busy0) / max(1, total - total0) * (os.cpu_count() or 1) < busy_below:
            break
    return round(time.perf_counter() - start, 1)


_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2


def _diag_inode(nl: socket.socket, server_port: int, client_port: int, seq: int) -> str | None:
    """The inode of the server end of 127.0.0.1:client_port -> 127.0.0.1:server_port, asked of the kernel
    by its exact address pair (netlink sock_diag), instead of reading all of /proc/net/tcp (milliseconds
    when many connections are in TIME_WAIT)."""
    import struct

    loopback = socket.inet_aton("127.0.0.1") + bytes(12)
    sockid = struct.pack("!HH", server_port, client_port) + loopback + loopback
    sockid += struct.pack("=III", 0, 0xFFFFFFFF, 0xFFFFFFFF)  # any interface, no cookie
    req = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    nl.send(struct.pack("=IHHII", 16 + len(req), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, seq, 0) + req)
    data = nl.recv(65536)
    _, kind = struct.unpack_from("=IH", data)
    if kind == _NLMSG_ERROR or len(data) < 16 + 72:
        return None
    inode = struct.unpack_from("=I", data, 16 + 4 + 48 + 16)[0]  # after family..retrans, id, 4 u32s
    return str(inode)


def _proc_inodes(server_port: int, client_ports: list[int]) -> dict[str, int]:
    wanted = {f"{port:04X}": port for port in client_ports}
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            local_port, remote_port = f[1].rsplit(":", 1)[1], f[2].rsplit(":", 1)[1]
            if int(local_port, 16) == server_port and remote_port in wanted:
                inodes[f[9]] = wanted[remote_port]
    return inodes


def socket_owners(server_port: int, client_ports: list[int], pids: list[int]) -> dict[int, int | None]:
    """Which of `pids` holds the server end of each open connection from `client_ports` to `server_port`
    (Linux: the kernel says each connection's socket inode, /proc/PID/fd which process has it)."""
    inodes: dict[str, int] = {}
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4) as nl:  # NETLINK_SOCK_DIAG
            for i, port in enumerate(client_ports):
                inode = _diag_inode(nl, server_port, port, i + 1)
                if inode is not None:
                    inodes[inode] = port
    except OSError:
        inodes = _proc_inodes(server_port, client_ports)
    owners: dict[int, int | None] = dict.fromkeys(client_ports)
    if not inodes:
        return owners
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            entries = os.listdir(fd_dir)
        except OSError:
            continue
        for entry in entries:
            try:
                target = os.readlink(f"{fd_dir}/{entry}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                owners[inodes[target[8:-1]]] = pid
    return owners


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)
