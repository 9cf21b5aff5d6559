"""Did a change make requests cheaper?  Two checkouts served side by side.

On a shared machine the same tree's figures move by a third from one hour to
the next, more than most changes move them.  This starts the web server of
two checkouts at once (``--before``, another checkout such as ``git worktree
add /tmp/before <commit>``, and ``--after``, this one by default), each on
its own throwaway SQLite data dir with the bench's setup (``engine_bench``'s
agent and token, or ``chat_bench``'s threads), both calling one fake model.
Then it sends the requests one to each server in turn, the order swapped
every round, so that a slow moment slows both alike:

* ``--endpoint invoke``: ``POST /agents/{slug}/invoke`` of the 3-node pipeline;
* ``--endpoint me``: ``GET /api/v1/auth/me``;
* ``--endpoint detail``: ``GET /api/v1/agents/{slug}``, the invoked agent;
* ``--endpoint bare``: ``GET /bench/bare``, the bench's bare DRF view;
* ``--endpoint chat``: a lone chat turn read as SSE, with a stream straight
  from the fake model each round (its deltas 20 ms apart): the time to the
  first delta over the model's own.

It prints, per server, the CPU the server process spent per request (from
``/proc``) and the latency's p50 and p90, then after ÷ before.  Each tree runs
its own code, ``bench/`` included, so the setup is each tree's own.  Run from
the project root::

    git worktree add /tmp/before e697ad0 && ln -s "$PWD/.venv" /tmp/before/.venv
    .venv/bin/python bench/side_by_side.py --before /tmp/before --endpoint invoke
    .venv/bin/python bench/side_by_side.py --before /tmp/before --endpoint chat --requests 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, only bench/ is on the path
    sys.path.insert(0, str(ROOT))

from bench import chat_bench, engine_bench, servers  # noqa: E402
from bench.api_bench import HOST, configure_environment, free_port, run_in_temp_dir, stop_server  # noqa: E402
from bench.chat_bench import pct  # noqa: E402

ENGINE_SETUP = "from bench import engine_bench; print(engine_bench.populate({url!r}))"
SETUP = {  # what each endpoint's server needs, made by the tree's own bench module
    "invoke": ENGINE_SETUP,
    "me": ENGINE_SETUP,
    "detail": ENGINE_SETUP,
    "bare": ENGINE_SETUP,
    "chat": "from bench import chat_bench; t, ids = chat_bench.populate({url!r}, {threads}); print(t, *ids)",
}
CHAT_WARMUP = 3
READS = {"me": "/api/v1/auth/me", "detail": f"/api/v1/agents/{engine_bench.AGENT_SLUG}", "bare": "/bench/bare"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout (its own bench/ and code)")
    parser.add_argument("--after", type=Path, default=ROOT, help="this checkout unless named")
    parser.add_argument("--endpoint", choices=sorted(SETUP), default="invoke")
    parser.add_argument("--requests", type=int, default=3000, help="requests to each server")
    parser.add_argument("--warmup", type=int, default=300, help="requests to each server first, not measured")
    args = parser.parse_args()
    for tree in (args.before, args.after):
        if not (tree / "manage.py").exists():
            parser.error(f"{tree} is not a checkout of this project")
    if args.requests < 2 or args.warmup < 0:
        parser.error("need --requests >= 2 and --warmup >= 0")
    return args


@dataclass
class Side:
    name: str
    tree: Path
    data_dir: Path
    token: str = ""
    threads: list[str] = field(default_factory=list)
    server: subprocess.Popen | None = None
    url: str = ""
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def start(side: Side, endpoint: str, fake_url: str, threads: int) -> None:
    """Migrate the side's data dir, make its setup, start its server."""
    configure_environment(side.data_dir)
    os.environ["AGENTRY_ALLOWED_PRIVATE_HOSTS"] = HOST  # the fake model listens on loopback
    env = {**os.environ, "PYTHONPATH": str(side.tree)}
    run = {"cwd": side.tree, "env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], **run)
    printed = subprocess.run([sys.executable, "-c", SETUP[endpoint].format(url=fake_url, threads=threads)],
                             **run).stdout.split()
    side.token, side.threads = printed[0], printed[1:]
    port = free_port()
    side.url = f"http://{HOST}:{port}"
    side.server = servers.start(servers.server_command(servers.DEFAULT_SERVER, port), side.data_dir / "server.log",
                                env=env, cwd=side.tree)


def measure_requests(sides: list[Side], endpoint: str, count: int, warmup: int) -> None:
    clients = {side.name: engine_bench.http_client(side.url, side.token)() for side in sides}
    call = engine_bench.invoke_call() if endpoint == "invoke" else _read(READS[endpoint])

    def one(side: Side, i: int, record: bool) -> None:
        started = time.perf_counter()
        problem, _queries = call(clients[side.name], i)
        if problem is not None:
            raise RuntimeError(f"{side.name}: {problem}")
        if record:
            side.latencies.append(time.perf_counter() - started)

    for i in range(warmup):
        for side in sides:
            one(side, i, False)
    before = {side.name: side.cpu_seconds() for side in sides}
    for i in range(count):
        for side in (sides if i % 2 == 0 else sides[::-1]):
            one(side, i, True)
    for side in sides:
        side.cpu = (side.cpu_seconds() - before[side.name]) / count


def _read(path: str):
    def call(client: httpx.Client, _i: int):
        response = client.get(path)
        return (None if response.status_code == 200 else f"{response.status_code}: {response.text[:200]}"), None

    return call


def measure_chat(sides: list[Side], fake_url: str, count: int) -> list[float]:
    """Lone turns, one on each server in turn, each round after a stream straight from the model."""
    upstream: list[float] = []

    async def turns() -> None:
        timeout = httpx.Timeout(60.0)
        model = httpx.AsyncClient(base_url=fake_url, timeout=timeout, trust_env=False,
                                  headers={"Authorization": f"Bearer {chat_bench.API_KEY}"})
        webs = {side.name: httpx.AsyncClient(base_url=side.url, timeout=timeout, trust_env=False,
                                             headers={"Authorization": f"Bearer {side.token}"}) for side in sides}
        for side in sides:
            for thread in side.threads[count:]:
                await chat_bench.chat_stream(webs[side.name], thread, chat_bench.Stream(), "warm up")
        before = {side.name: side.cpu_seconds() for side in sides}
        for i in range(count):
            stream = chat_bench.Stream()
            await chat_bench.upstream_stream(model, stream)
            upstream.append(stream.deltas[0] - stream.started)
            for side in (sides if i % 2 == 0 else sides[::-1]):
                stream = chat_bench.Stream()
                await chat_bench.chat_stream(webs[side.name], side.threads[i], stream)
                if not stream.ok:
                    raise RuntimeError(f"{side.name}: {stream.error}")
                side.latencies.append(stream.deltas[0] - stream.started)
                await asyncio.sleep(0.03)  # the turn's last trips, before the next one starts
        for side in sides:
            side.cpu = (side.cpu_seconds() - before[side.name]) / count
        for client in (model, *webs.values()):
            await client.aclose()

    asyncio.run(turns())
    return upstream


def report(args, sides: list[Side], upstream: list[float]) -> None:
    ms = 1000
    what = {"invoke": "POST .../invoke", "chat": "a lone chat turn's first delta",
            **{endpoint: f"GET {path}" for endpoint, path in READS.items()}}
    print(f"\nside_by_side: {what[args.endpoint]}, {args.requests} to each server in turn after "
          f"{CHAT_WARMUP if upstream else args.warmup} warm-up, {servers.DEFAULT_SERVER}, SQLite\n")
    shift = pct(upstream, 50) if upstream else 0.0  # a turn's figure is what it adds to the model's own
    p50 = "p50 over the model's (ms)" if upstream else "p50 (ms)"
    print(f"{'':8}{'checkout':36}{'server CPU/request (ms)':>25}{p50:>28}{'p90 (ms)':>10}")
    for side in sides:
        print(f"{side.name:8}{str(side.tree):36}{side.cpu * ms:>25.3f}{(pct(side.latencies, 50) - shift) * ms:>28.3f}"
              f"{(pct(side.latencies, 90) - shift) * ms:>10.3f}")
    before, after = sides
    print(f"{'after / before':44}{after.cpu / before.cpu:>24.2f}x"
          f"{(pct(after.latencies, 50) - shift) / (pct(before.latencies, 50) - shift):>27.2f}x")
    if upstream:
        print(f"\nthe model's own first delta, p50: {shift * ms:.2f} ms")


def run(args, data_dir: Path) -> None:
    fake, fake_url = (chat_bench.start_fake_llm(0.02, data_dir / "fake-llm.log") if args.endpoint == "chat"
                      else engine_bench.start_fake_llm(data_dir / "fake-llm.log"))
    sides = [Side("before", args.before.resolve(), Path(tempfile.mkdtemp(dir=data_dir))),
             Side("after", args.after.resolve(), Path(tempfile.mkdtemp(dir=data_dir)))]
    try:
        for side in sides:
            start(side, args.endpoint, fake_url, args.requests + CHAT_WARMUP)
        for side in sides:
            servers.wait_for_answer(side.url + "/api/v1/", side.server)
        upstream = []
        if args.endpoint == "chat":
            upstream = measure_chat(sides, fake_url, args.requests)
        else:
            measure_requests(sides, args.endpoint, args.requests, args.warmup)
        report(args, sides, upstream)
    finally:
        for side in sides:
            if side.server is not None:
                stop_server(side.server)
        stop_server(fake)


def main() -> None:
    run_in_temp_dir(run, parse_args(), "agentry-side-by-side-")


if __name__ == "__main__":
    main()
