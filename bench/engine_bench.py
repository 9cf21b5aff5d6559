"""What does the execution engine add to an LLM call, per request and in requests/s?

Starts a fake LLM server that speaks the OpenAI chat completions wire format
and answers at once (``tests/fakes/llm_server.py``, in its own process) and
the real web server (``--server``: uvicorn by default, with uvloop and
httptools when installed; daphne or granian on request), all on a throwaway
SQLite data dir holding one staff user, a provider ``fake`` pointing at the
fake server, and one agent running the 3-node demo pipeline (input →
llm_call → output) on ``fake``/``bench-model``.  Then it measures, in one run:

* **direct SDK**: ``openai.OpenAI(...).chat.completions.create`` against the
  fake, ``--requests`` times on one keep-alive connection, then over
  ``--concurrency`` connections (a thread and a client each): the baseline,
  what an LLM call costs with no platform in between;
* **invoke**: ``POST /api/v1/agents/{slug}/invoke`` (Bearer token), the same
  count on one keep-alive connection, then over ``--concurrency``
  connections; every answer must be 200 with the echoed output, the rest are
  counted as failures.  A recorded, traced, resumable run each: its steps and
  events are in the database when the answer comes;
* **invoke, deployed**: the same agent started, so runs read its deployed
  version (one connection);
* **interleaved**: a direct call and an invoke in turn on one connection
  each, then an invoke of the draft and one of the deployed agent in turn:
  both sides of each pair see the machine as it is at that moment, where
  passes made one after the other moved by several ms between minutes;
* **a slow model** (``--slow-model-ms``, 200 by default; 0 skips it): a second
  fake server answering after that long, and an agent on it; the direct call
  and invoke over ``--concurrency`` connections, ``--slow-requests`` each.
  Here a web process should serve nearly as many invokes/s as the model
  allows (connections ÷ its latency): waiting for a model must hold nothing back;
* with ``--async`` only (``bench/worker_bench.py`` gives the worker's
  figures): one Celery worker on the same data dir (``--pool solo``, as
  ``scripts/run.sh`` starts it, or ``--pool prefork`` with one child).  After one
  run proves it ready, a few runs queued one at a time (each once the last
  finished: the latency of a lone run), then ``--runs`` runs posted to
  ``POST /api/v1/agents/{slug}/run`` as fast as ``--concurrency`` connections
  allow: executions/s from the first submission until the last one finished,
  and queue → finish latencies from the rows (``created_at`` →
  ``finished_at``), polled from the database every 0.2 s.

The report gives p50/p95 latencies and SQL queries per request
(``X-Query-Count``), what invoke adds to the direct call at one connection
(the difference in ms, and the ratio), and invokes/s at one and at
``--concurrency`` connections, each next to the direct call's requests/s at
the same number of connections, with the ratio.  The client, the fake server
and the web server share the machine's cores, so absolute numbers depend on
it; the differences and ratios to the same run's baseline are the figures to
watch.

Run from the project root::

    make bench-engine              # = .venv/bin/python bench/engine_bench.py
    .venv/bin/python bench/engine_bench.py --requests 1000 --server daphne
    .venv/bin/python bench/engine_bench.py --async --runs 200 --pool solo

Everything lives in a temporary data dir that is deleted afterwards, and every
process started is stopped, on Ctrl-C too.  ``DATABASE_URL`` and ``REDIS_URL``
are ignored (the broker is the filesystem one in the data dir), so a run never
touches a real database or queue.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, only bench/ is on the path
    sys.path.insert(0, str(ROOT))

from bench.api_bench import (  # noqa: E402
    HOST,
    Result,
    configure_environment,
    free_port,
    migrate,
    run_in_temp_dir,
    stop_server,
    wait_until_ready,
)

PROVIDER, MODEL, API_KEY = "fake", "bench-model", "sk-bench"
AGENT_SLUG = "engine-bench"
SLOW_PROVIDER, SLOW_SLUG = "fake-slow", "engine-bench-slow-model"  # the same agent on a model that takes its time
DEPLOYED_SLUG = "engine-bench-deployed"  # the same agent, started: runs read its deployed version
SYSTEM_PROMPT = "You are a friendly support agent for Acme."  # the demo pipeline's
ASYNC_IDLE_RUNS = 5  # runs queued one at a time, each after the previous finished
POLL_SECONDS = 0.2  # how often the database is read while runs are queued
SERVERS = ("uvicorn", "daphne", "granian")


# --- Environment and data ---------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="measured requests per pass")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="connections for the concurrent passes and for queueing runs (1: no extra passes)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests before each measured pass")
    parser.add_argument("--server", choices=SERVERS, default=default_server(),
                        help="the ASGI server (default: uvicorn when installed, else daphne)")
    parser.add_argument("--slow-model-ms", type=float, default=200.0,
                        help="the slow model's latency for the slow-model passes (0: no such passes)")
    parser.add_argument("--slow-requests", type=int, default=160, help="measured requests per slow-model pass")
    parser.add_argument("--async", dest="run_async", action=argparse.BooleanOptionalAction, default=False,
                        help="also measure a Celery worker (bench/worker_bench.py is the worker's benchmark)")
    parser.add_argument("--runs", type=int, default=50, help="with --async: runs queued at once for the worker")
    parser.add_argument("--pool", choices=("prefork", "solo"), default="solo",
                        help="the worker's pool: solo as scripts/run.sh starts it; prefork runs one child")
    parser.add_argument("--async-timeout", type=float, default=None,
                        help="seconds to wait for the queued runs to finish (default: 5 per run, at least 120)")
    args = parser.parse_args()
    if (args.requests < max(2, args.concurrency) or (args.run_async and args.runs < args.concurrency)
            or args.concurrency < 1 or args.warmup < 0 or args.slow_model_ms < 0
            or (args.slow_model_ms and args.slow_requests < args.concurrency)):
        parser.error("need --requests >= 2, --requests (and with --async --runs, and --slow-requests) >= "
                     "--concurrency >= 1, --warmup >= 0 and --slow-model-ms >= 0")
    if args.async_timeout is None:
        args.async_timeout = max(120.0, 5.0 * args.runs)
    return args


def default_server() -> str:
    return "uvicorn" if importlib.util.find_spec("uvicorn") else "daphne"


def populate(fake_url: str, slow_url: str | None = None) -> str:
    """A staff user, the ``fake`` provider, the bench agent (and with
    ``slow_url`` the same on the slow fake server); return a raw API token.
    Through the services, as the API would do it; connections are closed
    after so the server and the worker own the database."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections

    from accounts.actor import Actor
    from accounts.services import token_create
    from agents.demo import SUPPORT_PIPELINE
    from agents.services import agent_create
    from agents.services.providers import provider_create
    from agents.services.runtime import agent_start

    user = get_user_model().objects.create_user(username="bench", email="bench@example.com",
                                                password="bench-password-not-secret", is_staff=True)
    actor = Actor(user=user, user_agent="engine_bench")
    def pipeline_on(provider: str, url: str) -> dict:
        provider_create(actor=actor, name=provider, kind="openai", base_url=url + "/v1", api_key=API_KEY,
                        models=[{"name": MODEL, "input_per_million": 1, "output_per_million": 2}])
        pipeline = copy.deepcopy(SUPPORT_PIPELINE)
        llm = next(node for node in pipeline["nodes"] if node["type"] == "llm_call")
        llm["data"].update(provider=provider, model=MODEL)
        assert llm["data"]["system_prompt_template"] == SYSTEM_PROMPT, "the demo pipeline changed"
        return pipeline

    pipeline = pipeline_on(PROVIDER, fake_url)
    agent_create(actor=actor, name="Engine bench", slug=AGENT_SLUG, pipeline=pipeline)
    deployed = agent_create(actor=actor, name="Engine bench (deployed)", slug=DEPLOYED_SLUG, pipeline=pipeline)
    if slow_url:
        agent_create(actor=actor, name="Engine bench (slow model)", slug=SLOW_SLUG,
                     pipeline=pipeline_on(SLOW_PROVIDER, slow_url))
    agent_start(agent=deployed, actor=actor)
    _, raw_token = token_create(user=user, name="bench", scopes=["agents:read", "agents:run"])
    connections.close_all()
    return raw_token


# --- Processes ----------------------------------------------------------------


def start_fake_llm(log_path: Path, delay: float = 0.0) -> tuple[subprocess.Popen, str]:
    """The fake LLM server in its own process (so it shares no GIL with the
    client threads), answering after ``delay`` seconds; returns it and the URL it printed."""
    with open(log_path, "wb") as log:
        fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.llm_server", "--host", HOST, "--port", "0",
                                 "--delay", str(delay)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log)
    url = fake.stdout.readline().decode().strip()  # the server prints its URL once it listens
    if not url.startswith("http://"):
        stop_server(fake)
        raise RuntimeError(f"the fake LLM server did not start (printed {url!r}); see {log_path.name}")
    return fake, url


def server_command(server: str, port: int) -> list[str]:
    """The command line that serves ``config.asgi:application`` on ``port`` with ``server``."""
    binary = str(Path(sys.executable).with_name(server))
    app = "config.asgi:application"
    if server == "daphne":
        return [binary, "-b", HOST, "-p", str(port), app]
    if server == "uvicorn":
        command = [binary, app, "--host", HOST, "--port", str(port), "--lifespan", "off", "--no-access-log",
                   "--log-level", "warning"]
        if importlib.util.find_spec("uvloop"):
            command += ["--loop", "uvloop"]
        if importlib.util.find_spec("httptools"):
            command += ["--http", "httptools"]
        return command
    if server == "granian":
        return [binary, "--interface", "asgi", "--host", HOST, "--port", str(port), "--no-access-log",
                "--log-level", "warning", app]
    raise ValueError(f"unknown server {server!r}")


def start_web_server(server: str, port: int, log_path: Path) -> subprocess.Popen:
    if not Path(server_command(server, port)[0]).exists():
        raise RuntimeError(f"{server} is not installed in this environment")
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(server_command(server, port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def start_worker(pool: str, log_path: Path) -> subprocess.Popen:
    celery = Path(sys.executable).with_name("celery")
    with open(log_path, "wb") as log:
        return subprocess.Popen([str(celery), "-A", "config", "worker", "--loglevel=WARNING", f"--pool={pool}",
                                 "--concurrency=1", "--hostname=bench-worker@%h"],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def print_logs(data_dir: Path) -> None:
    for name in ("server.log", "worker.log", "fake-llm.log"):
        path = data_dir / name
        if path.exists() and path.stat().st_size:
            tail = path.read_text(errors="replace").splitlines()[-30:]
            print(f"--- {name} (last lines) ---", *tail, sep="\n", file=sys.stderr)


# --- Load generation ----------------------------------------------------------


@dataclass
class Pass(Result):
    """One measured pass; ``wall_start`` is the first timed request's ``time.time()``."""

    connections: int = 1
    wall_start: float = 0.0


def _connection(open_client, call, warmup, first, count, barrier, result, lock, spans) -> None:
    """One keep-alive connection: warm up, wait for the others, then time each
    call.  ``call(client, i)`` returns an error message or ``None``, and the
    query count when the server reported one."""
    latencies, query_counts, failures = [], Counter(), []
    try:
        with open_client() as client:
            for i in range(warmup):
                call(client, -1 - i)
            barrier.wait()
            wall, start = time.time(), time.perf_counter()
            for i in range(first, first + count):
                sent = time.perf_counter()
                problem, queries = call(client, i)
                latencies.append(time.perf_counter() - sent)
                if problem:
                    failures.append(problem)
                if queries is not None:
                    query_counts[queries] += 1
            end = time.perf_counter()
    except Exception as exc:
        with lock:
            result.failures.append(f"client error: {exc!r}")
        barrier.abort()  # after recording, so the first client error is the cause
        return
    with lock:
        result.latencies += latencies
        result.query_counts += query_counts
        result.failures += failures
        spans.append((wall, start, end))


def measure(label: str, shown: str, open_client, call, *, count: int, warmup: int, connections: int) -> Pass:
    """Spread ``count`` calls over ``connections`` threads, each with its own
    client; the throughput window runs from the first timed call to the last
    answer.  Failed calls are counted, not fatal; a broken client is."""
    result, lock, spans = Pass(label, shown, connections=connections), threading.Lock(), []
    barrier = threading.Barrier(connections)
    shares = [count // connections + (i < count % connections) for i in range(connections)]
    warmups = [warmup // connections + (i < warmup % connections) for i in range(connections)]
    firsts = [sum(shares[:i]) for i in range(connections)]
    threads = [threading.Thread(target=_connection, args=(open_client, call, w, first, n, barrier, result, lock,
                                                          spans), daemon=True)  # Ctrl-C must not wait for them
               for w, first, n in zip(warmups, firsts, shares)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(spans) < connections:
        raise RuntimeError(f"{label}: {next(f for f in result.failures if f.startswith('client error'))}")
    result.wall_start = min(wall for wall, _, _ in spans)
    result.elapsed = max(end for _, _, end in spans) - min(start for _, start, _ in spans)
    return result


def message(i: int) -> str:
    return f"bench message {i}"


def sdk_calls(fake_url: str):
    """``(open_client, call)`` for the direct SDK call to the fake server."""
    import openai

    def open_client():
        return openai.OpenAI(base_url=fake_url + "/v1", api_key=API_KEY, max_retries=0, timeout=30.0,
                             http_client=openai.DefaultHttpxClient(trust_env=False))

    def call(client, i):
        completion = client.chat.completions.create(model=MODEL, messages=[
            {"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": message(i)}])
        text = completion.choices[0].message.content
        return (None if text == f"echo: {message(i)}" else f"unexpected answer {text!r}"), None

    return open_client, call


def direct_sdk(fake_url: str, args, connections: int, *, count: int | None = None,
               label: str = "direct SDK") -> Pass:
    open_client, call = sdk_calls(fake_url)
    return measure(label, "chat.completions.create", open_client, call,
                   count=count or args.requests, warmup=args.warmup, connections=connections)


def http_client(base_url: str, token: str):
    return lambda: httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, trust_env=False,
                                timeout=60.0)


def _problem(response: httpx.Response, expected_status: int) -> str | None:
    if response.status_code != expected_status:
        return f"{response.status_code}: {response.text[:200]}"
    return None


def invoke_call(slug: str = AGENT_SLUG):
    """``call`` for ``POST /agents/{slug}/invoke`` (on an ``http_client``)."""
    path = f"/api/v1/agents/{slug}/invoke"

    def call(client, i):
        response = client.post(path, json={"input": {"message": message(i)}})
        problem = _problem(response, 200)
        if problem is None:
            data = response.json()["data"]
            if data["status"] != "succeeded" or data["output"] != f"echo: {message(i)}":
                problem = f"unexpected result: status {data['status']}, output {data['output']!r}"
        return problem, int(response.headers.get("X-Query-Count", -1))

    return call


def invoke(base_url: str, token: str, args, connections: int, slug: str = AGENT_SLUG,
           label: str = "invoke", count: int | None = None) -> Pass:
    return measure(label, "POST .../invoke", open_client=http_client(base_url, token), call=invoke_call(slug),
                   count=count or args.requests, warmup=args.warmup, connections=connections)


@dataclass
class Interleaved:
    """Two kinds of call made in turn on one connection each, so that both
    see the machine as it is at that moment: on shared cores, passes made one
    after the other moved by several ms between minutes (docs/PERFORMANCE.md)."""

    base: Pass
    ours: Pass

    def paired_ms(self) -> float:
        """The median of the per-pair differences (ours minus base)."""
        return statistics.median(b - a for a, b in zip(self.base.latencies, self.ours.latencies)) * 1000


def interleaved(base: tuple[str, str, Callable, Callable], ours: tuple[str, str, Callable, Callable], *,
                count: int, warmup: int) -> Interleaved:
    """``count`` pairs of calls, ``base`` and ``ours`` (each ``(label, shown,
    open_client, call)``), the one first in even pairs and the other in odd
    ones, after ``warmup`` pairs; failed calls are counted."""
    passes = [Pass(label, shown) for label, shown, _, _ in (base, ours)]
    with base[2]() as base_client, ours[2]() as ours_client:
        clients = (base_client, ours_client)
        for i in range(-warmup, count):
            for side in ((0, 1) if i % 2 == 0 else (1, 0)):
                sent = time.perf_counter()
                problem, queries = (base, ours)[side][3](clients[side], i)
                if i < 0:
                    continue
                passes[side].latencies.append(time.perf_counter() - sent)
                passes[side].failures += [problem] if problem else []
                if queries is not None:
                    passes[side].query_counts[queries] += 1
    return Interleaved(*passes)


def submit_runs(base_url: str, token: str, count: int, connections: int, exec_ids: list) -> Pass:
    path = f"/api/v1/agents/{AGENT_SLUG}/run"

    def call(client, i):
        response = client.post(path, json={"input": {"message": message(i)}})
        problem = _problem(response, 202)
        if problem is None:
            exec_ids.append((i, response.json()["data"]["exec_id"]))  # list.append is atomic
        return problem, int(response.headers.get("X-Query-Count", -1))

    return measure("queue run", "POST .../run", open_client=http_client(base_url, token), call=call,
                   count=count, warmup=0, connections=connections)


@dataclass
class AsyncResult:
    submit: Pass
    runs: int
    succeeded: int
    unfinished: int
    failures: list[str]
    elapsed: float  # first submission → last finished_at, seconds
    queue_to_finish: list[float]  # seconds, per finished run of the batch
    queue_wait: list[float]  # created_at → started_at
    run_time: list[float]  # started_at → finished_at
    idle_queue_to_finish: list[float]  # runs queued one at a time on an idle worker

    @property
    def per_second(self) -> float:
        return self.succeeded / self.elapsed if self.elapsed > 0 else 0.0


def wait_for_executions(exec_ids: list[str], timeout: float, worker: subprocess.Popen) -> list:
    """Poll the database (read-only, every ``POLL_SECONDS``) until every
    execution finished or ``timeout`` passed; return the rows as
    ``(id, status, created_at, started_at, finished_at, output, error)``."""
    from django.db import connections

    from executions.models import FINISHED_STATUSES, Execution

    deadline = time.monotonic() + timeout
    rows = Execution.objects.filter(pk__in=exec_ids)
    try:
        while time.monotonic() < deadline:
            if rows.filter(status__in=FINISHED_STATUSES).count() == len(exec_ids):
                break
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited with code {worker.returncode}")
            time.sleep(POLL_SECONDS)
        return list(rows.values_list("id", "status", "created_at", "started_at", "finished_at", "output", "error"))
    finally:
        connections.close_all()


def _queue_one(base_url: str, token: str, worker: subprocess.Popen, timeout: float) -> float:
    """Queue one run, wait for it; its queue → finish seconds."""
    exec_ids: list = []
    submit = submit_runs(base_url, token, 1, 1, exec_ids)
    if submit.failures:
        raise RuntimeError(f"queueing a run failed: {submit.failures[0]}")
    [(_, status, created, _, finished, output, error)] = wait_for_executions([exec_ids[0][1]], timeout, worker)
    if status != "succeeded" or output != f"echo: {message(0)}":
        raise RuntimeError(f"a queued run ended {status}: output {output!r}, error {error!r}")
    return (finished - created).total_seconds()


def run_async(base_url: str, token: str, args, worker: subprocess.Popen) -> AsyncResult:
    _queue_one(base_url, token, worker, 120.0)  # the worker is ready once one run went through
    idle = [_queue_one(base_url, token, worker, 60.0) for _ in range(ASYNC_IDLE_RUNS)]

    exec_ids: list = []
    submit = submit_runs(base_url, token, args.runs, args.concurrency, exec_ids)
    expected = {exec_id: f"echo: {message(i)}" for i, exec_id in exec_ids}
    rows = wait_for_executions(list(expected), args.async_timeout, worker)
    failures = list(submit.failures)
    succeeded, unfinished, ends = 0, 0, []
    queue_to_finish, queue_wait, run_time = [], [], []
    for exec_id, status, created, started, finished, output, error in rows:
        if finished is None:
            unfinished += 1
            continue
        ends.append(finished.timestamp())
        queue_to_finish.append((finished - created).total_seconds())
        if started is not None:
            queue_wait.append((started - created).total_seconds())
            run_time.append((finished - started).total_seconds())
        if status == "succeeded" and output == expected[str(exec_id)]:
            succeeded += 1
        else:
            failures.append(f"{exec_id}: {status}, output {output!r}, error {error!r}")
    return AsyncResult(submit=submit, runs=args.runs, succeeded=succeeded, unfinished=unfinished,
                       failures=failures, elapsed=(max(ends) - submit.wall_start) if ends else 0.0,
                       queue_to_finish=queue_to_finish, queue_wait=queue_wait, run_time=run_time,
                       idle_queue_to_finish=idle)


# --- Report ---------------------------------------------------------------


def pct_ms(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


def _ratio(ours: float, base: float) -> str:
    return f"{ours / base:.2f}x" if base else "-"


def print_report(directs: list[Pass], invokes: list[Pass], deployed: Pass, pairs: list[Interleaved],
                 slow: list[Pass], a: AsyncResult | None, args, setup_seconds: float) -> None:
    worker = (f"; {args.runs} queued runs for one worker (--pool={args.pool} --concurrency=1)"
              if a is not None else "")
    print(f"\n{args.requests} measured requests per pass after {args.warmup} warm-up, web server {args.server}"
          f"{worker}; setup took {setup_seconds:.1f}s; {os.cpu_count()} CPUs shared by client, fake LLM, "
          f"server{' and worker' if a is not None else ''}.\n")
    header = (f"{'measurement':<20} {'request':<26} {'conns':>5} {'count':>5} {'fail':>4} {'req/s':>7} "
              f"{'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    print(header)
    print("-" * len(header))
    for r in [*directs, *invokes, deployed, *slow, *([a.submit] if a is not None else [])]:
        print(f"{r.label:<20} {r.shown_path:<26} {r.connections:>5} {len(r.latencies):>5} {len(r.failures):>4} "
              f"{r.rps:>7.1f} {r.percentile_ms(50):>8.2f} {r.percentile_ms(95):>8.2f} "
              f"{r.queries() if r.query_counts else '-':>8}")
    if a is not None:
        rows = [("async, idle worker", "one at a time", a.idle_queue_to_finish, 0, ""),
                ("async, batch", "all queued at once", a.queue_to_finish, len(a.failures) + a.unfinished,
                 f"{a.per_second:.1f}")]
        for label, what, values, failures, rate in rows:
            print(f"{label:<20} {what:<26} {'':>5} {len(values):>5} {failures:>4} {rate:>7} "
                  f"{pct_ms(values, 50):>8.1f} {pct_ms(values, 95):>8.1f} {'-':>8}")
        print("(async rows: queued → finished per run, from the rows' created_at and finished_at; "
              "req/s: executions/s)")

    direct, one = directs[0], invokes[0]
    d50, d95, i50, i95 = (direct.percentile_ms(50), direct.percentile_ms(95),
                          one.percentile_ms(50), one.percentile_ms(95))
    print("\nInvoke next to the direct SDK call, one connection (same run):")
    print(f"  p50  direct {d50:.2f} ms, invoke {i50:.2f} ms: +{i50 - d50:.2f} ms ({_ratio(i50, d50)})")
    print(f"  p95  direct {d95:.2f} ms, invoke {i95:.2f} ms: +{i95 - d95:.2f} ms ({_ratio(i95, d95)})")
    print(f"  SQL queries per invoke: {one.queries()}")
    print("Requests/s, each next to the direct call over as many connections (same run):")
    for base, ours in zip(directs, invokes):
        print(f"  {ours.connections:>2} connection{'s' if ours.connections > 1 else ' '}: direct {base.rps:.1f}/s, "
              f"invoke {ours.rps:.1f}/s ({_ratio(ours.rps, base.rps)} of the direct call)")
    with_direct, with_draft = pairs
    print(f"Interleaved, call by call on one connection each ({len(with_direct.ours.latencies)} pairs; the fairest "
          f"comparison on a shared machine):")
    b50, o50 = with_direct.base.percentile_ms(50), with_direct.ours.percentile_ms(50)
    print(f"  p50  direct {b50:.2f} ms, invoke {o50:.2f} ms: +{o50 - b50:.2f} ms ({_ratio(o50, b50)}); "
          f"median per-pair difference {with_direct.paired_ms():+.2f} ms")
    print(f"  a running agent (its deployed version read from the versions table), next to the draft: "
          f"median per-pair difference {with_draft.paired_ms():+.2f} ms, {with_draft.ours.queries()} queries")
    if slow:
        slow_direct, slow_invoke = slow
        ceiling = slow_invoke.connections / (args.slow_model_ms / 1000)
        print(f"A model taking {args.slow_model_ms:.0f} ms, {slow_invoke.connections} connections (at most "
              f"{ceiling:.0f}/s): direct {slow_direct.rps:.1f}/s, invoke {slow_invoke.rps:.1f}/s "
              f"({_ratio(slow_invoke.rps, slow_direct.rps)} of the direct call); p50 "
              f"+{slow_invoke.percentile_ms(50) - slow_direct.percentile_ms(50):.2f} ms over the direct call's")
    failures = [f for r in [*invokes, deployed, *slow[1:], with_direct.ours, with_draft.base, with_draft.ours]
                for f in r.failures]
    if failures:
        print(f"\n{len(failures)} invoke failures; the first: {failures[0]}")
    if a is None:
        return
    print(f"\nAsync, one worker: {a.per_second:.1f} executions/s; {a.succeeded}/{a.runs} succeeded from the "
          f"first submission until the last finished ({a.elapsed:.2f}s; queueing all {a.runs} took "
          f"{a.submit.elapsed:.2f}s over {a.submit.connections} connections)")
    print(f"  per run of the batch: waiting in the queue p50 {pct_ms(a.queue_wait, 50):.0f} ms; "
          f"running (started → finished) p50 {pct_ms(a.run_time, 50):.1f} ms, p95 {pct_ms(a.run_time, 95):.1f} ms")
    if a.failures:
        print(f"\n{len(a.failures)} async failures; the first: {a.failures[0]}")
    if a.unfinished:
        print(f"\n{a.unfinished} queued runs had not finished after {args.async_timeout:.0f}s")


# --- Main ---------------------------------------------------------------------


def run(args, data_dir: Path) -> None:
    started = time.monotonic()
    configure_environment(data_dir)
    os.environ["AGENTRY_ALLOWED_PRIVATE_HOSTS"] = HOST  # the fake LLM listens on loopback
    processes: list[subprocess.Popen] = []
    try:
        fake, fake_url = start_fake_llm(data_dir / "fake-llm.log")
        processes.append(fake)
        slow_url = None
        if args.slow_model_ms:
            slow_fake, slow_url = start_fake_llm(data_dir / "slow-llm.log", delay=args.slow_model_ms / 1000)
            processes.append(slow_fake)
        migrate()
        token = populate(fake_url, slow_url)
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        server = start_web_server(args.server, port, data_dir / "server.log")
        processes.append(server)
        wait_until_ready(base_url, server)
        setup_seconds = time.monotonic() - started

        widths = [1, args.concurrency] if args.concurrency > 1 else [1]
        directs = [direct_sdk(fake_url, args, n) for n in widths]
        invokes = [invoke(base_url, token, args, n) for n in widths]
        deployed = invoke(base_url, token, args, 1, slug=DEPLOYED_SLUG, label="invoke, deployed")
        ours = ("invoke", "POST .../invoke", http_client(base_url, token), invoke_call())
        pairs = [interleaved(("direct SDK", "chat.completions.create", *sdk_calls(fake_url)), ours,
                             count=args.requests, warmup=args.warmup),
                 interleaved(ours, ("invoke, deployed", "POST .../invoke", http_client(base_url, token),
                                    invoke_call(DEPLOYED_SLUG)), count=args.requests, warmup=args.warmup)]
        slow = [direct_sdk(slow_url, args, args.concurrency, count=args.slow_requests, label="direct, slow model"),
                invoke(base_url, token, args, args.concurrency, slug=SLOW_SLUG, label="invoke, slow model",
                       count=args.slow_requests)] if slow_url else []
        async_result = None
        if args.run_async:
            worker = start_worker(args.pool, data_dir / "worker.log")
            processes.append(worker)
            async_result = run_async(base_url, token, args, worker)
    except BaseException:
        print_logs(data_dir)
        raise
    finally:
        for process in reversed(processes):
            stop_server(process)
    print_report(directs, invokes, deployed, pairs, slow, async_result, args, setup_seconds)


def main() -> None:
    run_in_temp_dir(run, parse_args(), "agentry-engine-bench-")


if __name__ == "__main__":
    main()
