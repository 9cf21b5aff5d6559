"""An agent's analytics (``GET /agents/{agent}/analytics``, the console's
dashboard): runs, sessions, tokens, cost, success rate, daily activity,
latency and time to first token over the last ``days`` days.

Everything is aggregated by the database, in a fixed number of queries
whatever the range: one for the totals (triggers included), one for the days,
one for the sessions, and one per percentile.  Percentiles are nearest-rank
values read with ORDER BY and OFFSET after a count, which SQLite and
PostgreSQL both do on an index, without loading the rows."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from agents.models import Agent
from executions.conversations.models import Message, MessageRole
from executions.models import FINISHED_STATUSES, Execution, ExecutionStatus, Trigger


def _percentile(values: QuerySet, count: int, fraction: float) -> int | None:
    """The nearest-rank ``fraction`` percentile of ``values`` (one ordered column, ``count`` rows)."""
    if count == 0:
        return None
    rank = max(1, math.ceil(fraction * count))
    return values[rank - 1:rank].first()


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def agent_analytics(agent: Agent, *, days: int, now: datetime | None = None) -> dict:
    """The analytics of API.md §6 for the ``days`` days up to ``now`` (UTC
    days, today included); ``daily_runs`` lists every one of them."""
    now = now or timezone.now()
    first_day = now.astimezone(UTC).date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=UTC)
    runs = Execution.objects.filter(agent=agent, created_at__gte=since, created_at__lte=now).order_by()
    finished = runs.filter(status__in=FINISHED_STATUSES)

    totals = runs.aggregate(
        runs=Count("pk"), finished=Count("pk", filter=Q(status__in=FINISHED_STATUSES)),
        succeeded=Count("pk", filter=Q(status=ExecutionStatus.SUCCEEDED)),
        timed=Count("duration_ms", filter=Q(status__in=FINISHED_STATUSES)),
        prompt=Sum("tokens_prompt"), completion=Sum("tokens_completion"), cost=Sum("cost_usd"),
        **{f"trigger_{trigger}": Count("pk", filter=Q(trigger=trigger)) for trigger in Trigger.values})
    per_day = {
        _day(row["day"]): row for row in runs.annotate(day=TruncDate("created_at", tzinfo=UTC)).values("day")
        .annotate(count=Count("pk"), prompt=Sum("tokens_prompt"), completion=Sum("tokens_completion"),
                  cost=Sum("cost_usd")).order_by("day")}
    durations = finished.filter(duration_ms__isnull=False).order_by("duration_ms").values_list("duration_ms",
                                                                                                flat=True)
    messages = Message.objects.filter(thread__agent=agent, created_at__gte=since, created_at__lte=now).order_by()
    chat = messages.aggregate(sessions=Count("thread", distinct=True),
                              ttft=Count("ttft_ms", filter=Q(role=MessageRole.ASSISTANT)))
    ttfts = (messages.filter(role=MessageRole.ASSISTANT, ttft_ms__isnull=False).order_by("ttft_ms")
             .values_list("ttft_ms", flat=True))

    daily = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        row = per_day.get(day, {})
        daily.append({"date": day.isoformat(), "count": row.get("count", 0),
                      "tokens": (row.get("prompt") or 0) + (row.get("completion") or 0),
                      "cost_usd": float(row.get("cost") or 0)})
    return {
        "days": days,
        "since": since,
        "sessions_count": chat["sessions"],
        "runs_count": totals["runs"],
        "success_rate": round(totals["succeeded"] / totals["finished"], 4) if totals["finished"] else None,
        "total_tokens": (totals["prompt"] or 0) + (totals["completion"] or 0),
        "total_cost_usd": float(totals["cost"] or 0),
        "daily_runs": daily,
        "latency_ms": {"p50": _percentile(durations, totals["timed"], 0.50),
                       "p95": _percentile(durations, totals["timed"], 0.95)},
        "ttft_ms": {"p50": _percentile(ttfts, chat["ttft"], 0.50)},
        "runs_by_trigger": {trigger: totals[f"trigger_{trigger}"] for trigger in Trigger.values},
    }
