"""How long does ``make run`` take to answer, and how much memory does it hold idle?

Runs ``scripts/run.sh`` (web server, Celery worker and beat, exactly as
``make run`` starts them after migrating) against a throwaway data dir, once
per server in ``--servers`` (``AGENTRY_SERVER``) and ``--repeat`` times each,
and reports:

* cold start: seconds from spawning ``run.sh`` to the web process's first HTTP
  answer (``GET /api/v1/auth/me``, a 401), while the worker and beat start
  beside it, as they do under ``make run``;
* idle memory of the web process and the worker (every process of each: the
  prefork worker's pool children too) once the worker is ready and everything
  has settled, as RSS and as PSS (which splits pages a forked child shares
  with its parent, so it adds up); beat is reported apart.

Each figure is the median over the repeats, printed next to the goal
(``--goal-start``, ``--goal-memory``: 2 s and 200 MB of RSS) with the ratio.

The processes run from the environment this script runs in: ``make bench``
runs it from ``.venv``, the product alone, as ``make run`` and production
install it.  From ``.venv-dev`` the test tools and PostgreSQL's driver,
imported beside the product when present, add about 16 MB to each process.

    .venv/bin/python bench/startup_bench.py
    .venv/bin/python bench/startup_bench.py --servers daphne --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, only bench/ is on the path
    sys.path.insert(0, str(ROOT))

from bench import servers  # noqa: E402
from bench.api_bench import free_port, print_server_log, run_in_temp_dir  # noqa: E402
from bench.servers import HOST, SERVERS  # noqa: E402

SETTLE_SECONDS = 3.0  # after the worker is ready, before memory is read
READY_TIMEOUT = 90.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--repeat", type=int, default=2, help="starts per server (the median is reported)")
    parser.add_argument("--goal-start", type=float, default=2.0, help="seconds")
    parser.add_argument("--goal-memory", type=float, default=200.0, help="MB of RSS, web + worker")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("need --repeat >= 1")
    return args


def environment(data_dir: Path) -> dict:
    env = {**os.environ, "AGENTRY_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "config.settings",
           "DJANGO_DEBUG": "0", "AGENTRY_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost,::1"}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


@dataclass
class Start:
    first_answer: float  # seconds
    web: tuple[float, float]  # (rss, pss) MB
    worker: tuple[float, float]
    beat: tuple[float, float]


def _role(pid: int) -> str:
    line = servers.command_line(pid)
    if "celery" in line:
        return "beat" if " beat" in line else "worker"
    return "web" if any(name in line for name in SERVERS) else "other"


def _worker_ready(log_path: Path) -> bool:
    return " ready." in log_path.read_text(errors="replace")


def start_once(server: str, env: dict, log_path: Path) -> Start:
    port = free_port()
    log_path.write_bytes(b"")
    process = servers.start(["bash", str(ROOT / "scripts" / "run.sh")], log_path,
                            env={**env, "PORT": str(port), "AGENTRY_SERVER": server,
                                         "VENV": str(Path(sys.executable).parent.parent)})
    try:
        first = servers.wait_for_answer(f"http://{HOST}:{port}/api/v1/auth/me", process, READY_TIMEOUT)
        deadline = time.monotonic() + READY_TIMEOUT
        while not _worker_ready(log_path):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the Celery worker did not report ready")
            time.sleep(0.1)
        time.sleep(SETTLE_SECONDS)
        roles: dict[str, list[int]] = {"web": [], "worker": [], "beat": [], "other": []}
        for pid in servers.process_tree(process.pid)[1:]:  # run.sh itself is bash
            roles[_role(pid)].append(pid)
        return Start(first, servers.memory_mb(roles["web"]), servers.memory_mb(roles["worker"]),
                     servers.memory_mb(roles["beat"]))
    except BaseException:
        print_server_log(log_path)
        raise
    finally:
        servers.stop(process)


def median(values) -> float:
    return statistics.median(values)


def print_report(results: dict[str, list[Start]], args) -> None:
    print(f"\nmake run's processes (scripts/run.sh), {args.repeat} starts per server, medians; "
          f"{os.cpu_count()} CPUs.  Goals: first answer <= {args.goal_start:g}s, web + worker <= "
          f"{args.goal_memory:g} MB RSS.\n")
    header = (f"{'server':<8} {'first answer':>12} {'/goal':>6} {'web RSS':>8} {'worker RSS':>10} "
              f"{'web+worker':>10} {'/goal':>6} {'(PSS)':>7} {'beat RSS':>9}")
    print(header)
    print("-" * len(header))
    for server, starts in results.items():
        first = median(s.first_answer for s in starts)
        web, worker = median(s.web[0] for s in starts), median(s.worker[0] for s in starts)
        total = median(s.web[0] + s.worker[0] for s in starts)
        pss = median(s.web[1] + s.worker[1] for s in starts)
        print(f"{server:<8} {first:>11.2f}s {first / args.goal_start:>5.2f}x {web:>7.0f}M {worker:>9.0f}M "
              f"{total:>9.0f}M {total / args.goal_memory:>5.2f}x {pss:>6.0f}M "
              f"{median(s.beat[0] for s in starts):>8.0f}M")


def run(args, data_dir: Path) -> None:
    env = environment(data_dir)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=ROOT, env=env, check=True, timeout=180)
    results = {server: [start_once(server, env, data_dir / f"run-{server}.log") for _ in range(args.repeat)]
               for server in args.servers}
    print_report(results, args)


def main() -> None:
    run_in_temp_dir(run, parse_args(), "agentry-startup-bench-")


if __name__ == "__main__":
    main()
