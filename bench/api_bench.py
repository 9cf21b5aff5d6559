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
numbers; absolute ones depend on the machine.  Each server is measured in two
``--placements``: ``shared``, its client threads on the same cores (on a
2-core machine a client woken by a response preempts the server mid-request),
and ``separate``, the server on the first CPU and the client on the others,
as a client on another machine would leave it its cores (``bench/servers.py``).
Also per server: seconds from spawning it to its first
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
import statistics
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
from bench.servers import DEFAULT_SERVER, HOST, PLACEMENTS, SERVERS  # noqa: E402

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
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds over every endpoint per server; each ratio is the median of the rounds'")
    parser.add_argument("--placements", nargs="+", choices=PLACEMENTS, default=list(PLACEMENTS),
                        help="where the server and the client threads run (bench/servers.py): every CPU for "
                             "both, or the server on one and the client on the others; each server is "
                             "measured in each")
    args = parser.parse_args()
    if (args.requests < args.concurrency or args.agents < 1 or args.concurrency < 1 or args.warmup < 0
            or args.sequential < 2 or args.rounds < 1):
        parser.error("need --requests >= --concurrency >= 1, --sequential >= 2, --agents >= 1, --warmup >= 0 "
                     "and --rounds >= 1")
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


def start_server(port: int, log_path: Path, server: str = DEFAULT_SERVER,
                 cpus: set[int] | None = None) -> subprocess.Popen:
    """``server`` serving ``config.asgi:application`` on ``port`` as ``make run`` starts it (on ``cpus``)."""
    return servers.start(servers.server_command(server, port), log_path, cpus=cpus)


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
    placement: str  # servers.PLACEMENTS
    first_answer: float  # seconds from spawning the process to its first answer
    idle_rss: float  # MB, the server's process tree before any load
    # Per round, per endpoint (the bare view first): one connection (the
    # latency floor), then args.concurrency connections (throughput).
    sequential: list[list[Result]]
    concurrent: list[list[Result]]


def merged(rounds: list[list[Result]], i: int) -> Result:
    """Endpoint ``i``'s requests of every round as one result."""
    first = rounds[0][i]
    result = Result(first.label, first.shown_path)
    for results in rounds:
        result.latencies += results[i].latencies
        result.query_counts += results[i].query_counts
        result.elapsed += results[i].elapsed
    return result


def ratio(rounds: list[list[Result]], i: int, figure) -> float:
    """The median over the rounds of endpoint ``i``'s ``figure`` over the bare view's in the same round."""
    return statistics.median(figure(results[i]) / figure(results[0]) for results in rounds)


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


def measure_server(name: str, placement: str, agent_id: str, token: str, args, data_dir: Path) -> ServerPass:
    port, log_path = free_port(), data_dir / f"{name}-{placement}.log"
    base_url = f"http://{HOST}:{port}"
    server_cpus, client_cpus = servers.placement_cpus(placement)
    process = start_server(port, log_path, name, cpus=server_cpus)
    try:
        first = wait_until_ready(base_url, process)
        idle_rss, _ = servers.memory_mb(servers.process_tree(process.pid))
        sequential, concurrent = [], []
        with servers.running_on(client_cpus):
            for _ in range(args.rounds):
                sequential.append([]), concurrent.append([])
                for label, path, headers, shown in endpoints(agent_id, token):
                    sequential[-1].append(measure(base_url, label, path, headers, requests=args.sequential,
                                                  concurrency=1, warmup=args.warmup, shown_path=shown))
                    concurrent[-1].append(measure(base_url, label, path, headers, requests=args.requests,
                                                  concurrency=args.concurrency, warmup=args.warmup, shown_path=shown))
    except BaseException:
        print_server_log(log_path)
        raise
    finally:
        stop_server(process)
    return ServerPass(name, placement, first, idle_rss, sequential, concurrent)


# --- Report ---------------------------------------------------------------


def print_pass(p: ServerPass, args) -> None:
    where = {"shared": "server and client on every CPU",
             "separate": "server on one CPU, client on the others"}[p.placement]
    print(f"\n== {p.server} ({where}): first answer {p.first_answer:.2f}s after start, {p.idle_rss:.0f} MB RSS idle")
    header = (f"{'endpoint':<13} {'request':<39} {'seq p50':>8} {'/bare':>6} {'req/s':>7} {'/bare':>6} "
              f"{'p50 ms':>7} {'/bare':>6} {'p95 ms':>7} {'queries':>8}")
    print(header)
    print("-" * len(header))
    def p50(result: Result) -> float:
        return result.percentile_ms(50)

    def rps(result: Result) -> float:
        return result.rps

    for i in range(len(p.concurrent[0])):
        seq, r = merged(p.sequential, i), merged(p.concurrent, i)
        print(f"{r.label:<13} {'GET ' + r.shown_path:<39} {p50(seq):>8.2f} {ratio(p.sequential, i, p50):>5.2f}x "
              f"{r.rps:>7.1f} {ratio(p.concurrent, i, rps):>5.2f}x {p50(r):>7.2f} {ratio(p.concurrent, i, p50):>5.2f}x "
              f"{r.percentile_ms(95):>7.2f} {r.queries():>8}")


def print_report(passes: list[ServerPass], args, setup_seconds: float) -> None:
    print(f"\n{args.agents} agents; {args.rounds} rounds, each endpoint per round {args.sequential} requests on one "
          f"connection (seq p50), then {args.requests} over {args.concurrency} keep-alive connections (req/s, p50, "
          f"p95), each after {args.warmup} warm-up requests; each ratio the median of the rounds'; setup took "
          f"{setup_seconds:.1f}s; {os.cpu_count()} CPUs, each server measured with its client threads on the "
          "same CPUs (shared) and on others (separate).  "
          "/bare: the ratio to the bare DRF view on the same server in the same run and placement "
          "(latency: lower is better; req/s: higher is better).")
    for p in passes:
        print_pass(p, args)
    for placement in args.placements:
        placed = [p for p in passes if p.placement == placement]
        if len(placed) < 2:
            continue
        base = placed[0]
        print(f"\nThroughput (req/s, {args.concurrency} connections, {placement}) per server, "
              f"relative to {base.server}:")
        print(f"{'endpoint':<13} " + " ".join(f"{p.server:>16}" for p in placed))
        for i, r in enumerate(base.concurrent[0]):
            base_rps = merged(base.concurrent, i).rps
            cells = [f"{merged(p.concurrent, i).rps:>8.1f} {merged(p.concurrent, i).rps / base_rps:>6.2f}x"
                     for p in placed]
            print(f"{r.label:<13} " + " ".join(f"{cell:>16}" for cell in cells))
    if any(len(merged(p.concurrent, i).query_counts) > 1 for p in passes for i in range(len(p.concurrent[0]))):
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
    passes = [measure_server(name, placement, agent_id, token, args, data_dir)
              for placement in args.placements for name in args.servers]
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
