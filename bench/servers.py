"""The ASGI servers the benchmarks compare, started the way ``scripts/run.sh``
starts them, and what the benchmarks read of a running process: when it first
answers and how much memory its process tree holds."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
APP = "config.asgi:application"
SERVERS = ("daphne", "uvicorn", "granian")
DEFAULT_SERVER = "uvicorn"  # scripts/run.sh's, when AGENTRY_SERVER is unset


def server_command(name: str, port: int) -> list[str]:
    """The command line ``scripts/run.sh`` uses for ``name`` (same flags), on ``port``."""
    bin_dir = Path(sys.executable).parent
    if name == "daphne":
        return [str(bin_dir / "daphne"), "-e", f"tcp:port={port}:interface={HOST}:backlog=1024", APP]
    if name == "uvicorn":
        return [str(bin_dir / "uvicorn"), APP, "--host", HOST, "--port", str(port), "--loop", "uvloop",
                "--http", "httptools", "--ws", "websockets-sansio", "--lifespan", "off", "--no-access-log",
                "--backlog", "1024", "--log-level", "warning"]
    if name == "granian":
        return [str(bin_dir / "granian"), APP, "--interface", "asginl", "--host", HOST, "--port", str(port),
                "--loop", "uvloop", "--backlog", "1024", "--log-level", "warning"]
    raise ValueError(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")


def start(command: list[str], log_path: Path, env: dict | None = None, cwd: Path = ROOT,
          cpus: set[int] | None = None) -> subprocess.Popen:
    """Start ``command`` in ``cwd`` (this checkout unless named) in a session
    of its own (so :func:`stop` can end its whole process group, children
    included), output to ``log_path``; with ``cpus``, it and every thread and
    process it starts run on those CPUs only."""
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, preexec_fn=pin)


# --- where the server and the load generator run ------------------------------------

PLACEMENTS = ("shared", "separate")


def placement_cpus(placement: str) -> tuple[set[int] | None, set[int] | None]:
    """``(server's CPUs, load generator's CPUs)`` for ``placement``:
    ``shared``, every CPU for both (the scheduler places them, and a client
    thread woken by a response can preempt the server on its core);
    ``separate``, the first CPU for the server and the others for the client,
    as a client on another machine would leave the server its cores."""
    if placement == "shared":
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        raise RuntimeError("placement 'separate' needs two CPUs or more")
    return {available[0]}, set(available[1:])


@contextlib.contextmanager
def running_on(cpus: set[int] | None):
    """This process (and the threads it starts meanwhile) on ``cpus`` while the block runs."""
    if not cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def wait_for_answer(url: str, process: subprocess.Popen, timeout: float = 60.0) -> float:
    """Seconds from now until ``url`` answers anything over HTTP (any status)."""
    started = time.monotonic()
    deadline = started + timeout
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with code {process.returncode} before answering")
            try:
                client.get(url)
                return time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def _signal(process: subprocess.Popen, sig: int) -> None:
    """``sig`` to the process group :func:`start` made, else to the process alone."""
    try:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except ProcessLookupError:
        pass


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process (its group, when :func:`start` made one), then
    SIGKILL what is left after 10 s."""
    if process.poll() is not None:
        return
    _signal(process, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _signal(process, signal.SIGKILL)
        process.wait()


# --- memory ---------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except OSError:
        return []


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """``(rss, pss)`` of ``pids`` in MB.  RSS counts pages a forked child shares
    with its parent once per process; PSS splits them, so it adds up."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key == "Rss":
                        rss += int(value.split()[0])
                    elif key == "Pss":
                        pss += int(value.split()[0])
        except OSError:
            continue
    return rss / 1024, pss / 1024
