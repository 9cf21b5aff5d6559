"""How much do the agents API endpoints cost next to a bare DRF endpoint?

Starts the real server (daphne, ``config.asgi:application``) on 127.0.0.1
against a throwaway SQLite database holding ``--agents`` agents (default
10,000) owned by one user, then drives three endpoints with the same load
generator (``--concurrency`` keep-alive connections, one thread and one
``httpx.Client`` each):

* ``GET /bench/bare``: a DRF view with no authentication, permission check or
  database access, served by the same process and middleware (the baseline);
* ``GET /api/v1/agents/{id}``: one agent, with a Bearer API token;
* ``GET /api/v1/agents?limit=50``: the first page of the list, same token.

For each it reports requests/s, p50 and p95 latency and the SQL queries one
request makes (``X-Query-Count``, added by ``bench.middleware``), then each
agents endpoint's throughput and latency relative to the baseline.  The ratios
are the stable numbers; absolute ones depend on the machine, and the client
threads share its cores with the server.

Run from the project root::

    make bench                     # = .venv/bin/python bench/api_bench.py
    .venv/bin/python bench/api_bench.py --requests 2000 --agents 1000

Everything lives in a temporary data dir that is deleted afterwards, and the
server is always stopped.  ``DATABASE_URL`` and ``REDIS_URL`` are ignored so a
run never touches a real database.
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
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LIST_LIMIT = 50


# --- Environment and data ---------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per endpoint")
    parser.add_argument("--agents", type=int, default=10_000, help="agents in the database")
    parser.add_argument("--concurrency", type=int, default=4, help="keep-alive connections (client threads)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests per endpoint first")
    args = parser.parse_args()
    if args.requests < args.concurrency or args.agents < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("need --requests >= --concurrency >= 1, --agents >= 1 and --warmup >= 0")
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


def start_server(port: int, log_path: Path) -> subprocess.Popen:
    daphne = Path(sys.executable).with_name("daphne")
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(daphne), "-b", HOST, "-p", str(port), "config.asgi:application"],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_until_ready(base_url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"server exited with code {server.returncode} before answering")
            try:
                if client.get("/bench/bare").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer within {timeout:.0f}s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- Load generation ----------------------------------------------------------


@dataclass
class Result:
    label: str
    shown_path: str  # what the table prints ("{id}" rather than a UUID)
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds
    query_counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile_ms(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000

    def queries(self) -> str:
        """The usual count; a range too if some requests differed (the token's
        ``last_used_at`` touch adds a write at most once a minute)."""
        usual = self.query_counts.most_common(1)[0][0]
        low, high = min(self.query_counts), max(self.query_counts)
        return str(usual) if low == high else f"{usual} ({low}-{high})"


def _worker(base_url, path, headers, warmup, count, barrier, result, lock, spans) -> None:
    """One keep-alive connection: warm up, wait for the others, then time each
    request.  A client error breaks the barrier so no other thread waits forever."""
    latencies, query_counts, failures = [], Counter(), []
    try:
        with httpx.Client(base_url=base_url, headers=headers, trust_env=False, timeout=30.0) as client:
            for _ in range(warmup):
                client.get(path)
            barrier.wait()
            start = time.perf_counter()
            for _ in range(count):
                sent = time.perf_counter()
                response = client.get(path)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                query_counts[int(response.headers.get("X-Query-Count", -1))] += 1
            end = time.perf_counter()
    except Exception as exc:
        barrier.abort()
        with lock:
            result.failures.append(f"client error: {exc!r}")
        return
    with lock:
        result.latencies += latencies
        result.query_counts += query_counts
        result.failures += failures
        spans.append((start, end))


def measure(base_url: str, label: str, path: str, headers: dict, args, *, shown_path: str = "") -> Result:
    """Spread ``args.requests`` over ``args.concurrency`` connections; the
    throughput window runs from the first timed request to the last reply."""
    result, lock, spans = Result(label, shown_path or path), threading.Lock(), []
    barrier = threading.Barrier(args.concurrency)
    shares = [args.requests // args.concurrency + (i < args.requests % args.concurrency)
              for i in range(args.concurrency)]
    warmups = [args.warmup // args.concurrency + (i < args.warmup % args.concurrency)
               for i in range(args.concurrency)]
    threads = [threading.Thread(target=_worker, args=(base_url, path, headers, warmup, count,
                                                      barrier, result, lock, spans))
               for warmup, count in zip(warmups, shares)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if result.failures:
        raise RuntimeError(f"{label}: {len(result.failures)} failed requests, first: {result.failures[0]}")
    result.elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return result


# --- Report ---------------------------------------------------------------


def print_report(results: list[Result], args, setup_seconds: float) -> None:
    bare, *api = results
    print(f"\n{args.agents} agents, {args.requests} requests per endpoint over {args.concurrency} "
          f"keep-alive connections after {args.warmup} warm-up requests; "
          f"setup took {setup_seconds:.1f}s; {os.cpu_count()} CPUs shared by server and client.\n")
    header = f"{'endpoint':<14} {'request':<32} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.label:<14} {'GET ' + r.shown_path:<32} {r.rps:>8.1f} {r.percentile_ms(50):>8.2f} "
              f"{r.percentile_ms(95):>8.2f} {r.queries():>8}")
    print("\nRelative to the bare DRF endpoint:")
    for r in api:
        print(f"  {r.label}: {r.rps / bare.rps:.2f}x bare throughput, "
              f"p50 {r.percentile_ms(50) / bare.percentile_ms(50):.1f}x bare latency, "
              f"p95 {r.percentile_ms(95) / bare.percentile_ms(95):.1f}x bare latency")
    print("\nSQL queries per request:")
    for r in api:
        print(f"  {r.label}: {r.queries()}")
    if any(len(r.query_counts) > 1 for r in results):
        print("  (n (low-high): most requests made n; the token's last_used_at touch adds a write "
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
    port, log_path = free_port(), data_dir / "server.log"
    base_url = f"http://{HOST}:{port}"
    server = start_server(port, log_path)
    try:
        wait_until_ready(base_url, server)
        setup_seconds = time.monotonic() - started
        auth = {"Authorization": f"Bearer {token}"}
        results = [
            measure(base_url, "bare DRF", "/bench/bare", {}, args),
            measure(base_url, "agent detail", f"/api/v1/agents/{agent_id}", auth, args,
                    shown_path="/api/v1/agents/{id}"),
            measure(base_url, "agent list", f"/api/v1/agents?limit={LIST_LIMIT}", auth, args),
        ]
    except BaseException:
        print_server_log(log_path)
        raise
    finally:
        stop_server(server)
    print_report(results, args, setup_seconds)


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
