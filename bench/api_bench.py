"""What does a request cost next to a bare DRF view, under each ASGI server?

Fills a throwaway SQLite database with ``--agents`` agents (default 10,000)
owned by one user, then, for each server in ``--servers`` (daphne, uvicorn,
granian, started with the flags ``scripts/run.sh`` uses), serves
``config.asgi:application`` on 127.0.0.1 and drives five endpoints with the
same load generator (``bench/load.py``):

* ``GET /bench/bare``: a DRF view with no authentication, permission check or
  database access, served by the same process and middleware (the baseline);
* ``GET /api/v1/auth/me``: the request floor, a Bearer API token and no more;
* ``GET /api/v1/agents/{id}``: one agent, same token;
* ``GET /api/v1/agents?limit=50``: the first page of the list, same token;
* ``GET /api/v1/agents?limit=50&sort=-last_activity``: the same page in
  another sort order, with every agent's ``last_activity`` the same instant
  (as after an import): the ties its index must break.

Each endpoint runs twice: ``--sequential`` requests on one connection (the
latency floor, p50), then ``--requests`` over ``--concurrency`` keep-alive
connections (requests/s, p50, p95).  Every figure is printed next to the bare
view's from the same server and run, as a ratio: the ratios are the stable
numbers; absolute ones depend on the machine, and the client threads share its
cores with the server.  Also per server: seconds from spawning it to its first
answer, and its memory (RSS) before any load; then each endpoint's throughput
across servers.  SQL queries per request come from ``X-Query-Count`` (added by
``bench.middleware``).

Run from the project root::

    make bench                     # runs this, then the other benchmarks
    .venv/bin/python bench/api_bench.py --servers uvicorn --requests 2000 --agents 1000

Everything lives in a temporary data dir that is deleted afterwards, and the
servers are always stopped.  ``DATABASE_URL`` and ``REDIS_URL`` are ignored so
a run never touches a real database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, only bench/ is on the path
    sys.path.insert(0, str(ROOT))

from bench import servers  # noqa: E402
from bench.load import Result, measure  # noqa: E402,F401  (Result: engine_bench builds on it)
from bench.servers import DEFAULT_SERVER, HOST, SERVERS  # noqa: E402

LIST_LIMIT = 50


# --- Environment and data ---------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS),
                        help="servers to measure, in this order (the first is the others' reference)")
    parser.add_argument("--requests", type=int, default=400, help="measured concurrent requests per endpoint")
    parser.add_argument("--sequential", type=int, default=100, help="measured requests on one connection")
    parser.add_argument("--agents", type=int, default=10_000, help="agents in the database")
    parser.add_argument("--concurrency", type=int, default=4, help="keep-alive connections (client threads)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per endpoint first")
    args = parser.parse_args()
    if (args.requests < args.concurrency or args.agents < 1 or args.concurrency < 1 or args.warmup < 0
            or args.sequential < 2):
        parser.error("need --requests >= --concurrency >= 1, --sequential >= 2, --agents >= 1 and --warmup >= 0")
    return args


def configure_environment(data_dir: Path) -> None:
    """Point this process, and the subprocesses that inherit its environment,
    at the temporary data dir and the bench settings."""
    os.environ.update({
        "AGENTRY_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "AGENTRY_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))  # the script's own dir comes first otherwise


def migrate() -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=ROOT, check=True, timeout=180)


def populate(n_agents: int) -> tuple[str, str]:
    """Bulk-insert the agents, their owner memberships and some tags, in this
    process (far faster than the API); return one tagged agent's id and a raw
    API token.  Connections are closed after so the server owns the database."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections, transaction
    from django.utils import timezone

    from accounts.roles import Role
    from accounts.services import token_create
    from agents.config import default_config
    from agents.models import Agent, AgentMember, AgentTag
    from agents.validation import name_key

    config, start = default_config(), timezone.now() - timedelta(days=1)
    with transaction.atomic():
        user = get_user_model().objects.create_user(username="bench", email="bench@example.com",
                                                    password="bench-password-not-secret")
        agents = Agent.objects.bulk_create([
            Agent(owner=user, name=f"Bench agent {i:05d}", name_key=name_key(f"Bench agent {i:05d}"),
                  slug=f"bench-agent-{i:05d}", description="Benchmark agent.", config=config,
                  pipeline={"nodes": [], "edges": []},
                  created_at=start + timedelta(milliseconds=i), updated_at=start, last_activity=start)
            for i in range(n_agents)
        ], batch_size=500)
        AgentMember.objects.bulk_create(
            [AgentMember(agent=a, user=user, role=Role.OWNER, added_by=user) for a in agents], batch_size=500)
        tagged = agents[::10]  # every tenth agent, so list pages prefetch some tags
        AgentTag.objects.bulk_create(
            [AgentTag(agent=a, name=name, position=pos) for n, a in enumerate(tagged)
             for pos, name in enumerate(("bench", f"group-{n % 5}"))], batch_size=500)
        _, raw_token = token_create(user=user, name="bench",
                                    scopes=["agents:read", "agents:write", "agents:run"])
    connections.close_all()
    return str(tagged[len(tagged) // 2].pk), raw_token


# --- Server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(port: int, log_path: Path, server: str = DEFAULT_SERVER) -> subprocess.Popen:
    """``server`` serving ``config.asgi:application`` on ``port`` as ``make run`` starts it."""
    return servers.start(servers.server_command(server, port), log_path)


def wait_until_ready(base_url: str, server: subprocess.Popen, timeout: float = 60.0) -> float:
    """Seconds until the server first answers (any status), then until the bare endpoint does."""
    first = servers.wait_for_answer(f"{base_url}/bench/bare", server, timeout)
    with httpx.Client(base_url=base_url, trust_env=False, timeout=5.0) as client:
        if client.get("/bench/bare").status_code != 200:
            raise RuntimeError("the bare endpoint does not answer 200")
    return first


stop_server = servers.stop


# --- One server's pass ------------------------------------------------------------


@dataclass
class ServerPass:
    server: str
    first_answer: float  # seconds from spawning the process to its first answer
    idle_rss: float  # MB, the server's process tree before any load
    sequential: list[Result]  # one connection: the latency floor
    concurrent: list[Result]  # args.concurrency connections: throughput


def endpoints(agent_id: str, token: str) -> list[tuple[str, str, dict, str]]:
    auth = {"Authorization": f"Bearer {token}"}
    return [
        ("bare DRF", "/bench/bare", {}, ""),
        ("auth/me", "/api/v1/auth/me", auth, ""),
        ("agent detail", f"/api/v1/agents/{agent_id}", auth, "/api/v1/agents/{id}"),
        ("agent list", f"/api/v1/agents?limit={LIST_LIMIT}", auth, ""),
        ("list, sorted", f"/api/v1/agents?limit={LIST_LIMIT}&sort=-last_activity", auth,
         "/api/v1/agents?sort=-last_activity"),
    ]


def measure_server(name: str, agent_id: str, token: str, args, data_dir: Path) -> ServerPass:
    port, log_path = free_port(), data_dir / f"{name}.log"
    base_url = f"http://{HOST}:{port}"
    process = start_server(port, log_path, name)
    try:
        first = wait_until_ready(base_url, process)
        idle_rss, _ = servers.memory_mb(servers.process_tree(process.pid))
        sequential, concurrent = [], []
        for label, path, headers, shown in endpoints(agent_id, token):
            sequential.append(measure(base_url, label, path, headers, requests=args.sequential, concurrency=1,
                                      warmup=args.warmup, shown_path=shown))
            concurrent.append(measure(base_url, label, path, headers, requests=args.requests,
                                      concurrency=args.concurrency, warmup=args.warmup, shown_path=shown))
    except BaseException:
        print_server_log(log_path)
        raise
    finally:
        stop_server(process)
    return ServerPass(name, first, idle_rss, sequential, concurrent)


# --- Report ---------------------------------------------------------------


def print_pass(p: ServerPass, args) -> None:
    print(f"\n== {p.server}: first answer {p.first_answer:.2f}s after start, {p.idle_rss:.0f} MB RSS idle")
    header = (f"{'endpoint':<13} {'request':<39} {'seq p50':>8} {'/bare':>6} {'req/s':>7} {'/bare':>6} "
              f"{'p50 ms':>7} {'/bare':>6} {'p95 ms':>7} {'queries':>8}")
    print(header)
    print("-" * len(header))
    seq_bare, bare = p.sequential[0], p.concurrent[0]
    for seq, r in zip(p.sequential, p.concurrent):
        print(f"{r.label:<13} {'GET ' + r.shown_path:<39} {seq.percentile_ms(50):>8.2f} "
              f"{seq.percentile_ms(50) / seq_bare.percentile_ms(50):>5.2f}x {r.rps:>7.1f} {r.rps / bare.rps:>5.2f}x "
              f"{r.percentile_ms(50):>7.2f} {r.percentile_ms(50) / bare.percentile_ms(50):>5.2f}x "
              f"{r.percentile_ms(95):>7.2f} {r.queries():>8}")


def print_report(passes: list[ServerPass], args, setup_seconds: float) -> None:
    print(f"\n{args.agents} agents; per endpoint {args.sequential} requests on one connection (seq p50), then "
          f"{args.requests} over {args.concurrency} keep-alive connections (req/s, p50, p95), each after "
          f"{args.warmup} warm-up requests; setup took {setup_seconds:.1f}s; {os.cpu_count()} CPUs shared by "
          "server and client.  /bare: the ratio to the bare DRF view on the same server in the same run "
          "(latency: lower is better; req/s: higher is better).")
    for p in passes:
        print_pass(p, args)
    if len(passes) > 1:
        base = passes[0]
        print(f"\nThroughput (req/s, {args.concurrency} connections) per server, relative to {base.server}:")
        print(f"{'endpoint':<13} " + " ".join(f"{p.server:>16}" for p in passes))
        for i, r in enumerate(base.concurrent):
            cells = [f"{p.concurrent[i].rps:>8.1f} {p.concurrent[i].rps / r.rps:>6.2f}x" for p in passes]
            print(f"{r.label:<13} " + " ".join(f"{cell:>16}" for cell in cells))
    if any(len(r.query_counts) > 1 for p in passes for r in p.concurrent):
        print("  (queries n (low-high): most requests made n; the token's last_used_at touch adds a write "
              "at most once a minute)")


def print_server_log(log_path: Path) -> None:
    if log_path.exists():
        tail = log_path.read_text(errors="replace").splitlines()[-40:]
        print("--- server log (last lines) ---", *tail, sep="\n", file=sys.stderr)


# --- Main ---------------------------------------------------------------------


def run(args, data_dir: Path) -> None:
    started = time.monotonic()
    configure_environment(data_dir)
    migrate()
    agent_id, token = populate(args.agents)
    setup_seconds = time.monotonic() - started
    passes = [measure_server(name, agent_id, token, args, data_dir) for name in args.servers]
    print_report(passes, args, setup_seconds)


def run_in_temp_dir(run, args, prefix: str) -> None:
    """``run(args, data_dir)`` in a throwaway data dir, removed afterwards even
    on Ctrl-C or a plain kill (SIGTERM becomes an exit that runs the cleanup)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        run(args, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    run_in_temp_dir(run, parse_args(), "agentry-bench-")


if __name__ == "__main__":
    main()
