"""What do the pages and lists cost when a team has grown?

Fills a throwaway SQLite database with ``api_bench.py``'s ``--agents`` agents
(default 10,000, one user a member of all of them), ``--executions``
executions (default 50,000, spread over the last 20 days and inserted in time
order, as runs are), a user who sees three of the agents, and staff.  Then,
in this process and through Django's test client (no server: the figure is
the page's own cost), it requests each console page and API list below
``--rounds`` times per user and prints the median time, the part of it spent
in SQL statements (summed from Django's cursor) and the queries made, next to
the bench's bare DRF view measured in the same run (``/bare``: the ratio).

Run from the project root::

    make bench                     # runs this among the others
    .venv/bin/python bench/pages_bench.py --agents 10000 --executions 50000

Everything lives in a temporary data dir that is deleted afterwards;
``DATABASE_URL`` and ``REDIS_URL`` are ignored.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, only bench/ is on the path
    sys.path.insert(0, str(ROOT))

from bench.api_bench import configure_environment, migrate, populate, run_in_temp_dir  # noqa: E402

USERS = ("sees every agent", "sees 3 agents", "staff")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--executions", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5, help="requests per page and user (the median is shown)")
    args = parser.parse_args()
    if args.agents < 3 or args.executions < 1 or args.rounds < 1:
        parser.error("need --agents >= 3, --executions >= 1 and --rounds >= 1")
    return args


def add_executions_and_users(count: int) -> dict:
    """The executions, in time order over 20 days, and the other two users; the three users by label."""
    from django.contrib.auth import get_user_model
    from django.db import connections, transaction
    from django.utils import timezone

    from accounts.roles import Role
    from agents.models import Agent, AgentMember
    from executions.models import Execution

    rng, now = random.Random(1), timezone.now()
    agent_ids = list(Agent.objects.values_list("pk", flat=True))
    times = sorted(now - timedelta(seconds=rng.randint(0, 86_400 * 20)) for _ in range(count))
    users = get_user_model().objects
    with transaction.atomic():
        Execution.objects.bulk_create([
            Execution(agent_id=rng.choice(agent_ids), status="succeeded" if rng.random() < 0.9 else "failed",
                      timeout_ms=30_000, created_at=at, started_at=at, finished_at=at,
                      duration_ms=rng.randint(5, 3_000), tokens_prompt=10, tokens_completion=5,
                      input={"message": "hello"}, output={"text": "An answer of some length. " * 8})
            for at in times], batch_size=2_000)
        few = users.create_user(username="few", email="few@example.com", password="bench-password-not-secret")
        AgentMember.objects.bulk_create([AgentMember(agent_id=pk, user=few, role=Role.VIEWER) for pk in agent_ids[:3]])
        staff = users.create_user(username="staff", email="staff@example.com", password="bench-password-not-secret",
                                  is_staff=True)
    connections.close_all()
    return dict(zip(USERS, (users.get(username="bench"), few, staff), strict=True))


def pages(agent_slug: str, execution_id: str) -> list[tuple[str, str]]:
    """(kind, path): the console's pages, then the API's lists."""
    console = ["/", "/agents/", "/agents/?status=active", "/executions/", "/executions/?status=succeeded",
               f"/agents/{agent_slug}/", f"/agents/{agent_slug}/executions/", f"/agents/{agent_slug}/schedules/",
               f"/executions/{execution_id}/"]
    api = ["/api/v1/agents?limit=50", "/api/v1/agents?limit=50&sort=-last_activity",
           "/api/v1/agents?limit=50&tag=bench", f"/api/v1/agents/{agent_slug}/executions",
           f"/api/v1/agents/{agent_slug}/analytics"]
    return [("console", path) for path in console] + [("api", path) for path in api]


class SqlTimer:
    """Time and count every statement Django's cursors run."""

    def __init__(self):
        self.seconds, self.queries = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def measure(client, path: str, rounds: int) -> tuple[int, float, float, int]:
    """(status, median ms, median SQL ms, queries) of ``rounds`` requests after one warm-up."""
    from django.db import connection

    client.get(path)
    times, sql, queries, status = [], [], 0, 0
    for _ in range(rounds):
        timer = SqlTimer()
        with connection.execute_wrapper(timer):
            started = time.perf_counter()
            status = client.get(path).status_code
            times.append(time.perf_counter() - started)
        sql.append(timer.seconds)
        queries = timer.queries
    return status, statistics.median(times) * 1000, statistics.median(sql) * 1000, queries


def run(args, data_dir: Path) -> None:
    started = time.monotonic()
    configure_environment(data_dir)
    migrate()
    agent_id, _token = populate(args.agents)
    users = add_executions_and_users(args.executions)
    setup = time.monotonic() - started

    import gc

    from django.test import Client

    from accounts.services import token_create
    from agents.models import Agent
    from executions.models import Execution

    gc.freeze()  # as a serving process does (core.collector)
    agent = Agent.objects.get(pk=agent_id)
    execution = Execution.objects.filter(agent=agent).first() or Execution.objects.first()
    print(f"\n{args.agents} agents, {args.executions} executions over 20 days; each page {args.rounds} times per "
          f"user after a warm-up, the median; in-process through the test client; setup took {setup:.1f}s.  "
          "/bare: the page's time over the bare DRF view's in the same run.")
    header = f"{'user':<17} {'page':<46} {'status':>6} {'ms':>8} {'/bare':>7} {'SQL ms':>8} {'queries':>7}"
    print(header)
    print("-" * len(header))
    for label, user in users.items():
        console = Client(HTTP_HOST="127.0.0.1")
        console.force_login(user)
        _, raw = token_create(user=user, name="pages bench", scopes=["agents:read"])
        api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {raw}")
        _, bare, _, _ = measure(api, "/bench/bare", args.rounds * 4)
        visible_agent = agent if label != "sees 3 agents" else Agent.objects.filter(members__user=user).first()
        visible_execution = execution if label != "sees 3 agents" else (
            Execution.objects.filter(agent=visible_agent).first() or execution)
        for kind, path in pages(visible_agent.slug, str(visible_execution.pk)):
            status, ms, sql_ms, queries = measure(console if kind == "console" else api, path, args.rounds)
            print(f"{label:<17} {path[:46]:<46} {status:>6} {ms:>8.2f} {ms / bare:>6.1f}x {sql_ms:>8.2f} {queries:>7}")
        print(f"{label:<17} {'/bench/bare':<46} {200:>6} {bare:>8.2f} {1:>6.1f}x {0:>8.2f} {0:>7}")


def main() -> None:
    run_in_temp_dir(run, parse_args(), "agentry-pages-bench-")


if __name__ == "__main__":
    main()
