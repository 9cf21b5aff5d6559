"""How do chat turns stream under load, next to the model's own stream?

Starts the fake LLM server in its own process, streaming every answer word by
word with ``--chunk-delay`` between deltas (20 ms by default), and the real
web server (``--server``: ``make run``'s, uvicorn, unless named; started as
``scripts/run.sh`` starts it, ``config.asgi:application``) on a throwaway SQLite data
dir holding a staff user, the provider ``fake`` and one running agent whose
chat model is ``fake``/``bench-model``.  Then, in one run:

* **upstream**: ``--streams`` concurrent streamed chat completions straight to
  the fake server (``stream: true``, the OpenAI wire format): its own time to
  first delta and gap between deltas, the baseline;
* **chat**: ``--streams`` concurrent ``POST /api/v1/agents/{slug}/chat``
  turns, each on its own thread, read as Server-Sent Events: errors (anything
  but 200, a ``thread.run.completed`` with status ``completed`` and
  ``data: [DONE]``, with every word of the answer), time to first delta and
  the time per delta (a stream's (last - first) / (n - 1), so bursts average
  out); *added per delta* is the chat figure minus the upstream one (p50),
  *added to the first delta* the same for the first delta;
* **fan-out**: ``--sockets`` WebSockets open on one thread while one turn is
  sent over SSE: every socket must receive every event of the turn; the lag
  is how long after the SSE client each socket got each delta.

The client, the fake server and the web server share the machine's cores, so the
absolute numbers depend on it; the upstream figures measured in the same run
are the baseline.  Run from the project root::

    .venv/bin/python bench/chat_bench.py                 # 500 streams, 100 sockets
    .venv/bin/python bench/chat_bench.py --streams 100 --chunk-delay 0.02
    .venv/bin/python bench/chat_bench.py --streams 1 --rounds 30 --server daphne   # what one turn adds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, only bench/ is on the path
    sys.path.insert(0, str(ROOT))

from bench import servers  # noqa: E402
from bench.api_bench import (  # noqa: E402
    HOST,
    configure_environment,
    free_port,
    migrate,
    run_in_temp_dir,
    stop_server,
    wait_until_ready,
)

PROVIDER, MODEL, API_KEY = "fake", "bench-model", "sk-bench"
AGENT_SLUG = "chat-bench"
PROMPT = "please answer with these twelve words one two three four five six seven"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=500, help="concurrent chat streams")
    parser.add_argument("--rounds", type=int, default=1,
                        help="upstream and chat passes, taken in turn (their figures pooled): one turn's "
                             "figures need many rounds, as one sample swings by tens of milliseconds")
    parser.add_argument("--sockets", type=int, default=100, help="WebSockets on one thread for the fan-out")
    parser.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between the fake model's deltas")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a pass may take")
    parser.add_argument("--server", choices=servers.SERVERS, default=servers.DEFAULT_SERVER,
                        help="the ASGI server, started as scripts/run.sh starts it")
    args = parser.parse_args()
    if args.streams < 1 or args.rounds < 1 or args.sockets < 1 or args.chunk_delay < 0:
        parser.error("need --streams >= 1, --rounds >= 1, --sockets >= 1 and --chunk-delay >= 0")
    return args


def populate(fake_url: str, threads: int) -> tuple[str, list[str]]:
    """A staff user, the provider, a running agent and ``threads`` threads;
    returns a raw token and the thread ids.  Connections are closed after so
    the server owns the database."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections

    from accounts.actor import Actor
    from accounts.services import token_create
    from agents.services import agent_create
    from agents.services.providers import provider_create
    from agents.services.runtime import agent_start
    from executions.conversations.models import Thread

    user = get_user_model().objects.create_user(username="bench", email="bench@example.com",
                                                password="bench-password-not-secret", is_staff=True)
    actor = Actor(user=user, user_agent="chat_bench")
    provider_create(actor=actor, name=PROVIDER, kind="openai", base_url=fake_url + "/v1", api_key=API_KEY,
                    models=[{"name": MODEL, "input_per_million": 1, "output_per_million": 2}])
    agent = agent_create(actor=actor, name="Chat bench", slug=AGENT_SLUG, config={
        "model": {"provider": PROVIDER, "model": MODEL}, "memory": {"enabled": False},
        "session_policy": {"max_concurrent_sessions_per_user": 1000}})
    agent_start(agent=agent, actor=actor)
    rows = Thread.objects.bulk_create([Thread(agent=agent, created_by=user) for _ in range(threads)])
    _, raw_token = token_create(user=user, name="bench", scopes=["agents:read", "agents:run"])
    connections.close_all()
    return raw_token, [str(row.pk) for row in rows]


@dataclass
class Stream:
    ok: bool = False
    error: str = ""
    started: float = 0.0
    deltas: list[float] = field(default_factory=list)  # arrival times
    text: str = ""


def pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def gaps(streams: list[Stream]) -> list[float]:
    """Each stream's mean time between deltas, (last - first) / (n - 1): what
    a reader waits per delta once the answer flows, bursts averaged out."""
    return [(s.deltas[-1] - s.deltas[0]) / (len(s.deltas) - 1) for s in streams if len(s.deltas) > 1]


def firsts(streams: list[Stream]) -> list[float]:
    return [s.deltas[0] - s.started for s in streams if s.deltas]


async def upstream_stream(client: httpx.AsyncClient, result: Stream) -> None:
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
    result.started = time.monotonic()
    try:
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:]).get("choices") or [{}]
                piece = (choices[0].get("delta") or {}).get("content")
                if piece:
                    result.deltas.append(time.monotonic())
                    result.text += piece
        result.ok = response.status_code == 200 and bool(result.text)
    except httpx.HTTPError as exc:
        result.error = type(exc).__name__


async def chat_stream(client: httpx.AsyncClient, thread_id: str, result: Stream, message: str = PROMPT) -> None:
    result.started = time.monotonic()
    completed = done = False
    try:
        async with client.stream("POST", f"/api/v1/agents/{AGENT_SLUG}/chat",
                                 json={"thread_id": thread_id, "message": message}) as response:
            if response.status_code != 200:
                result.error = f"HTTP {response.status_code}"
                return
            async for line in response.aiter_lines():
                if line == "data: [DONE]":
                    done = True
                    break
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event["event"] == "thread.message.delta":
                    result.deltas.append(time.monotonic())
                    result.text += event["data"]["delta"]["content"]
                elif event["event"] == "thread.run.completed":
                    completed = event["data"]["status"] == "completed"
                elif event["event"] == "thread.run.failed":
                    result.error = event["data"]["error"]["code"]
    except httpx.HTTPError as exc:
        result.error = type(exc).__name__
        return
    result.ok = done and completed and result.text == "echo: " + message
    if not result.ok and not result.error:
        result.error = "incomplete stream"


async def run_pass(streams: int, factory, timeout: float) -> tuple[list[Stream], float]:
    results = [Stream() for _ in range(streams)]
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(factory(i, r) for i, r in enumerate(results))), timeout)
    return results, time.monotonic() - started


async def fan_out(base_url: str, ws_url: str, token: str, thread_id: str, sockets: int) -> dict:
    """``sockets`` WebSockets on one thread, one turn over SSE: who got what, how late."""
    from websockets.asyncio.client import connect

    url = f"{ws_url}/ws/agents/{AGENT_SLUG}/threads/{thread_id}/?token={token}"
    opened = [await connect(url, open_timeout=30, max_queue=None) for _ in range(sockets)]
    received: list[dict[int, float]] = [{} for _ in opened]

    async def listen(i: int, socket) -> None:
        async for frame in socket:
            event = json.loads(frame)
            received[i][event["id"]] = time.monotonic()
            if event["event"] in ("thread.run.completed", "thread.run.failed"):
                return

    listeners = [asyncio.ensure_future(listen(i, s)) for i, s in enumerate(opened)]
    sse_times: dict[int, float] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, trust_env=False) as client, \
            client.stream("POST", f"/api/v1/agents/{AGENT_SLUG}/chat",
                          json={"thread_id": thread_id, "message": PROMPT}) as response:
        event_id = None
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: ") and line != "data: [DONE]" and event_id is not None:
                sse_times[event_id] = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*listeners, return_exceptions=True), 60)
    for socket in opened:
        await socket.close()
    complete = sum(1 for got in received if set(sse_times) <= set(got))
    lags = [got[i] - sse_times[i] for got in received for i in sse_times if i in got]
    return {"sockets": sockets, "events": len(sse_times), "complete": complete, "lags": lags}


def report(args, upstream: list[Stream], up_seconds: float, chat: list[Stream], chat_seconds: float,
           fan: dict) -> None:
    up_ok, chat_ok = [s for s in upstream if s.ok], [s for s in chat if s.ok]
    errors: dict[str, int] = {}
    for stream in chat:
        if not stream.ok:
            errors[stream.error] = errors.get(stream.error, 0) + 1
    up_first, chat_first = firsts(up_ok), firsts(chat_ok)
    up_gap, chat_gap = gaps(up_ok), gaps(chat_ok)
    ms = 1000
    rounds = f" in each of {args.rounds} rounds (upstream and chat in turn)" if args.rounds > 1 else ""
    print(f"\nchat_bench: {args.streams} concurrent streams{rounds}, deltas every {args.chunk_delay * ms:.0f} ms "
          f"upstream, one {args.server} process, SQLite\n")
    print(f"{'':24}{'upstream (fake LLM)':>22}{'chat (POST /chat)':>22}{'ratio':>9}")
    print(f"{'streams ok':24}{len(up_ok):>22}{len(chat_ok):>22}")
    print(f"{'errors':24}{len(upstream) - len(up_ok):>22}{len(chat) - len(chat_ok):>22}   {errors or ''}")
    for label, up, ours in (("first delta p50 (ms)", pct(up_first, 50), pct(chat_first, 50)),
                            ("first delta p95 (ms)", pct(up_first, 95), pct(chat_first, 95)),
                            ("per-delta time p50 (ms)", pct(up_gap, 50), pct(chat_gap, 50)),
                            ("per-delta time p95 (ms)", pct(up_gap, 95), pct(chat_gap, 95))):
        print(f"{label:24}{up * ms:>22.1f}{ours * ms:>22.1f}{ours / up if up else float('nan'):>9.2f}")
    print(f"{'wall time (s)':24}{up_seconds:>22.2f}{chat_seconds:>22.2f}")
    print(f"\nadded to the first delta, p50: {(pct(chat_first, 50) - pct(up_first, 50)) * ms:.1f} ms"
          f"   p95: {(pct(chat_first, 95) - pct(up_first, 95)) * ms:.1f} ms")
    print(f"added per delta (a stream's mean time between deltas, chat minus upstream), p50: "
          f"{(pct(chat_gap, 50) - pct(up_gap, 50)) * ms:.2f} ms   "
          f"p95: {(pct(chat_gap, 95) - pct(up_gap, 95)) * ms:.2f} ms")
    print(f"\nfan-out: {fan['sockets']} WebSockets on one thread, one turn of {fan['events']} events: "
          f"{fan['complete']} sockets got every event; lag behind the SSE client p50 "
          f"{pct(fan['lags'], 50) * ms:.1f} ms, p95 {pct(fan['lags'], 95) * ms:.1f} ms, "
          f"max {max(fan['lags'], default=float('nan')) * ms:.1f} ms")


def start_fake_llm(chunk_delay: float, log_path: Path) -> tuple[subprocess.Popen, str]:
    """The fake LLM server in its own process, streaming every ``chunk_delay`` s."""
    with open(log_path, "wb") as log:
        fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.llm_server", "--host", HOST, "--port", "0",
                                 "--chunk-delay", str(chunk_delay)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log)
    url = fake.stdout.readline().decode().strip()  # printed once it listens
    if not url.startswith("http://"):
        stop_server(fake)
        raise RuntimeError(f"the fake LLM server did not start (printed {url!r})")
    return fake, url


def run(args, data_dir: Path) -> None:
    configure_environment(data_dir)
    os.environ["AGENTRY_ALLOWED_PRIVATE_HOSTS"] = HOST  # the fake LLM listens on loopback
    migrate()
    fake, fake_url = start_fake_llm(args.chunk_delay, data_dir / "fake-llm.log")
    server = None
    try:
        token, threads = populate(fake_url, args.streams * args.rounds + 1)
        port = free_port()
        server = servers.start(servers.server_command(args.server, port), data_dir / "server.log")
        base_url = f"http://{HOST}:{port}"
        wait_until_ready(base_url, server)
        limits = httpx.Limits(max_connections=args.streams + 10, max_keepalive_connections=args.streams + 10)
        timeout = httpx.Timeout(args.timeout)

        async def both():
            upstream, chat, up_seconds, chat_seconds = [], [], 0.0, 0.0
            async with httpx.AsyncClient(base_url=fake_url, limits=limits, timeout=timeout, trust_env=False,
                                         headers={"Authorization": f"Bearer {API_KEY}"}) as up, \
                    httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout, trust_env=False,
                                      headers={"Authorization": f"Bearer {token}"}) as web:
                await chat_stream(web, threads[-1], Stream(), "warm up")  # first turn loads the SDK
                for round_ in range(args.rounds):
                    ours = threads[round_ * args.streams:(round_ + 1) * args.streams]
                    passed, seconds = await run_pass(args.streams, lambda i, r: upstream_stream(up, r), args.timeout)
                    upstream, up_seconds = upstream + passed, up_seconds + seconds
                    passed, seconds = await run_pass(args.streams, lambda i, r: chat_stream(web, ours[i], r),
                                                     args.timeout)
                    chat, chat_seconds = chat + passed, chat_seconds + seconds
            fan = await fan_out(base_url, base_url.replace("http", "ws"), token, threads[-1], args.sockets)
            return (upstream, up_seconds), (chat, chat_seconds), fan

        (upstream, up_seconds), (chat, chat_seconds), fan = asyncio.run(both())
        report(args, upstream, up_seconds, chat, chat_seconds, fan)
        if any(not stream.ok for stream in chat):
            problems = [line for line in (data_dir / "server.log").read_text().splitlines()
                        if not line.startswith("127.0.0.1:")]
            print("--- server.log, all but the access lines (last 60) ---\n" + "\n".join(problems[-60:]))
    except BaseException:
        for name in ("server.log", "fake-llm.log"):
            log = data_dir / name
            if log.exists():
                print(f"--- {name} (tail) ---\n{log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            stop_server(server)
        stop_server(fake)


def main() -> None:
    run_in_temp_dir(run, parse_args(), "agentry-chat-bench-")


if __name__ == "__main__":
    main()
