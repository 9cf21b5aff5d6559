"""How many queued executions does one worker finish a second?

Starts the fake LLM server (``tests/fakes/llm_server.py``, in its own process,
answering at once unless ``--model-delay``) on a throwaway SQLite data dir
holding the engine bench's agent (the 3-node demo pipeline on the fake model,
``bench/engine_bench.py``), then measures two passes, each with a fresh worker
started by ``scripts/run.sh``'s own worker line (so as ``make run`` starts it,
with the filesystem broker in the data dir):

* **baseline**: ``AGENTRY_WORKER_CONCURRENCY=1``, one execution at a time (what a
  worker did before it ran many at once);
* **concurrent**: ``AGENTRY_WORKER_CONCURRENCY`` from ``--concurrency`` (the
  default setting unless given).

In each pass, once one run proved the worker ready, ``--idle-runs`` runs are
queued one at a time (each once the last finished: a lone run's latency,
where the broker's polling shows), then ``--runs`` at once, through
``executions.services.queue.execution_queue`` (what ``POST
/api/v1/agents/{slug}/run`` calls, without the HTTP in front).  It reports
executions/s from the first of those queued until the last finished, and per
run queue → finish and claim → finish latencies, from the rows
(``created_at``, ``started_at``, ``finished_at``), with the worker's CPU
seconds per run; then the concurrent pass next to the baseline, as ratios.

Run from the project root::

    .venv/bin/python bench/worker_bench.py
    .venv/bin/python bench/worker_bench.py --runs 2000 --baseline-runs 300 --model-delay 0.2

Everything lives in a temporary data dir that is deleted afterwards, and every
process started is stopped, on Ctrl-C too.  ``DATABASE_URL`` and ``REDIS_URL``
are ignored, so a run never touches a real database or queue.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, only bench/ is on the path
    sys.path.insert(0, str(ROOT))

from bench.api_bench import HOST, configure_environment, migrate, run_in_temp_dir  # noqa: E402
from bench.engine_bench import AGENT_SLUG, populate  # noqa: E402

POLL_SECONDS = 0.1  # how often the database is read while runs are in flight
RUN_SH = ROOT / "scripts" / "run.sh"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs queued at once for the concurrent worker")
    parser.add_argument("--baseline-runs", type=int, default=200,
                        help="runs queued at once for the one-at-a-time worker")
    parser.add_argument("--idle-runs", type=int, default=10, help="runs queued one at a time, in each pass")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="AGENTRY_WORKER_CONCURRENCY of the concurrent pass (default: the setting's)")
    parser.add_argument("--model-delay", type=float, default=0.0, help="seconds the fake model takes to answer")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a pass may take before it fails")
    args = parser.parse_args()
    if min(args.runs, args.baseline_runs, args.idle_runs) < 2 or (args.concurrency or 1) < 1 or args.model_delay < 0:
        parser.error("need --runs, --baseline-runs and --idle-runs >= 2, --concurrency >= 1, --model-delay >= 0")
    return args


# --- Processes ----------------------------------------------------------------


def worker_command() -> str:
    """``scripts/run.sh``'s worker line, without its ``&``: what ``make run`` starts."""
    for line in RUN_SH.read_text().splitlines():
        if "-A config worker" in line and not line.lstrip().startswith("#"):
            return line.strip().removesuffix("&").strip()
    raise RuntimeError(f"{RUN_SH} has no 'celery -A config worker' line")


def start_worker(concurrency: int | None, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, BIN=str(Path(sys.executable).parent))
    if concurrency is not None:
        env["AGENTRY_WORKER_CONCURRENCY"] = str(concurrency)
    with open(log_path, "ab") as log:
        # A session of its own, so stopping it reaches the pool's children too.
        return subprocess.Popen(["bash", "-c", f"exec {worker_command()}"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def start_fake_llm(delay: float, log_path: Path) -> tuple[subprocess.Popen, str]:
    with open(log_path, "wb") as log:
        fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.llm_server", "--host", HOST, "--port", "0",
                                 "--delay", str(delay)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log,
                                start_new_session=True)
    url = fake.stdout.readline().decode().strip()  # printed once it listens
    if not url.startswith("http://"):
        stop(fake)
        raise RuntimeError(f"the fake LLM server did not start (printed {url!r}); see {log_path.name}")
    return fake, url


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process (a worker's warm shutdown: it stops its pool
    itself), then SIGKILL after 15 s to the session it leads (``start_new_session``)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children that are still alive."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        pids += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        for each in pids:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


# --- Measuring ------------------------------------------------------------------


@dataclass
class Pass:
    label: str
    concurrency: str
    runs: int
    succeeded: int = 0
    failures: list[str] | None = None
    elapsed: float = 0.0  # first queued → last finished
    cpu: float = 0.0  # the worker's CPU seconds meanwhile
    queue_to_finish: list[float] | None = None
    claim_to_finish: list[float] | None = None
    idle_queue_to_finish: list[float] | None = None

    @property
    def per_second(self) -> float:
        return self.succeeded / self.elapsed if self.elapsed > 0 else 0.0


def queue_runs(count: int, first: int) -> list[str]:
    from django.contrib.auth import get_user_model

    from accounts.actor import Actor
    from agents.models import Agent
    from executions.models import Trigger
    from executions.services import queue, runs

    agent = Agent.objects.get(slug=AGENT_SLUG)
    actor = Actor(user=get_user_model().objects.get(username="bench"), user_agent="worker_bench")
    return [str(queue.execution_queue(agent=agent, actor=actor, trigger=Trigger.API, request=runs.run_request(
        agent, input={"message": f"bench message {i}"}))[0].pk) for i in range(first, first + count)]


def wait_for(exec_ids: list[str], worker: subprocess.Popen, timeout: float) -> list[tuple]:
    """Poll until every execution finished; their ``(id, status, created_at,
    started_at, finished_at, output, error)`` rows."""
    from executions.models import FINISHED_STATUSES, Execution

    rows = Execution.objects.filter(pk__in=exec_ids)
    deadline = time.monotonic() + timeout
    while rows.filter(status__in=FINISHED_STATUSES).count() < len(exec_ids):
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with code {worker.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(exec_ids)} runs had not finished after {timeout:.0f}s")
        time.sleep(POLL_SECONDS)
    return list(rows.values_list("id", "status", "created_at", "started_at", "finished_at", "output", "error"))


def one_at_a_time(count: int, worker: subprocess.Popen, first: int) -> list[float]:
    latencies = []
    for i in range(first, first + count):
        [(_, status, created, _, finished, output, error)] = wait_for(queue_runs(1, i), worker, 60.0)
        if status != "succeeded":
            raise RuntimeError(f"a lone run ended {status}: output {output!r}, error {error!r}")
        latencies.append((finished - created).total_seconds())
    return latencies


def measure(label: str, concurrency: int | None, runs: int, args, data_dir: Path) -> Pass:
    from django.conf import settings
    from django.db import connections

    shown = str(concurrency) if concurrency is not None else f"{settings.AGENTRY_WORKER_CONCURRENCY} (default)"
    result = Pass(label, shown, runs, failures=[])
    worker = start_worker(concurrency, data_dir / f"worker-{label}.log")
    try:
        one_at_a_time(1, worker, 0)  # ready once a run went through
        result.idle_queue_to_finish = one_at_a_time(args.idle_runs, worker, 1)
        cpu_before, started = cpu_seconds(worker.pid), time.time()
        exec_ids = queue_runs(runs, 1000)
        rows = wait_for(exec_ids, worker, args.timeout)
        result.cpu = cpu_seconds(worker.pid) - cpu_before
    finally:
        connections.close_all()
        stop(worker)
    result.queue_to_finish, result.claim_to_finish = [], []
    for exec_id, status, created, claimed, finished, output, error in rows:
        result.queue_to_finish.append((finished - created).total_seconds())
        if claimed is not None:
            result.claim_to_finish.append((finished - claimed).total_seconds())
        if status == "succeeded" and output.startswith("echo: bench message"):
            result.succeeded += 1
        else:
            result.failures.append(f"{exec_id}: {status}, output {output!r}, error {error!r}")
    result.elapsed = max(row[4] for row in rows).timestamp() - started
    return result


# --- Report ---------------------------------------------------------------------


def ms(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


def print_report(passes: list[Pass], args, setup_seconds: float) -> None:
    print(f"\nOne worker as scripts/run.sh starts it ({worker_command().split(' worker ', 1)[1]}), filesystem "
          f"broker, SQLite; fake model answering after {args.model_delay * 1000:.0f} ms; setup took "
          f"{setup_seconds:.1f}s; {os.cpu_count()} CPUs shared by this client, the fake LLM and the worker.\n")
    header = (f"{'pass':<11} {'concurrency':>12} {'runs':>5} {'fail':>4} {'exec/s':>7} {'cpu ms/run':>10} "
              f"{'queue→finish p50':>16} {'p95':>8} {'claim→finish p50':>16} {'p95':>8} {'lone run p50':>12}")
    print(header)
    print("-" * len(header))
    for p in passes:
        print(f"{p.label:<11} {p.concurrency:>12} {p.runs:>5} {len(p.failures):>4} {p.per_second:>7.1f} "
              f"{p.cpu * 1000 / p.runs:>10.1f} {ms(p.queue_to_finish, 50):>16.0f} {ms(p.queue_to_finish, 95):>8.0f} "
              f"{ms(p.claim_to_finish, 50):>16.1f} {ms(p.claim_to_finish, 95):>8.1f} "
              f"{ms(p.idle_queue_to_finish, 50):>12.1f}")
    print("(latencies in ms, from the rows; lone run: queued → finished on an idle worker, one at a time)")
    base, new = passes
    print(f"\nAsync executions/s, one worker: {new.per_second:.1f} against {base.per_second:.1f} one at a time: "
          f"{new.per_second / base.per_second:.2f}x")
    print(f"  worker CPU per run {new.cpu * 1000 / new.runs:.1f} ms against {base.cpu * 1000 / base.runs:.1f} ms; "
          f"lone run p50 {ms(new.idle_queue_to_finish, 50):.1f} ms against {ms(base.idle_queue_to_finish, 50):.1f} ms")
    for p in passes:
        if p.failures:
            print(f"\n{p.label}: {len(p.failures)} runs failed; the first: {p.failures[0]}")


# --- Main -----------------------------------------------------------------------


def run(args, data_dir: Path) -> None:
    started = time.monotonic()
    configure_environment(data_dir)
    os.environ["AGENTRY_ALLOWED_PRIVATE_HOSTS"] = HOST  # the fake LLM listens on loopback
    fake, fake_url = start_fake_llm(args.model_delay, data_dir / "fake-llm.log")
    try:
        migrate()
        populate(fake_url)
        setup_seconds = time.monotonic() - started
        passes = [measure("baseline", 1, args.baseline_runs, args, data_dir),
                  measure("concurrent", args.concurrency, args.runs, args, data_dir)]
    except BaseException:
        for log in sorted(data_dir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-30:]
            print(f"--- {log.name} (last lines) ---", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        stop(fake)
    print_report(passes, args, setup_seconds)


def main() -> None:
    run_in_temp_dir(run, parse_args(), "agentry-worker-bench-")


if __name__ == "__main__":
    main()
