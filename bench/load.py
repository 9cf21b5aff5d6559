"""The benchmarks' load generator: ``concurrency`` keep-alive connections, one
thread and one ``httpx.Client`` each, timing every request."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx


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


def measure(base_url: str, label: str, path: str, headers: dict, *, requests: int, concurrency: int,
            warmup: int, shown_path: str = "") -> Result:
    """Spread ``requests`` over ``concurrency`` connections; the throughput
    window runs from the first timed request to the last reply."""
    result, lock, spans = Result(label, shown_path or path), threading.Lock(), []
    barrier = threading.Barrier(concurrency)
    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    warmups = [warmup // concurrency + (i < warmup % concurrency) for i in range(concurrency)]
    threads = [threading.Thread(target=_worker, args=(base_url, path, headers, w, count, barrier, result, lock, spans))
               for w, count in zip(warmups, shares)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if result.failures:
        raise RuntimeError(f"{label}: {len(result.failures)} failed requests, first: {result.failures[0]}")
    result.elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return result
