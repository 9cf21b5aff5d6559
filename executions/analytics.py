"""Analytics of executions over the last ``days`` days.

``agent_analytics`` is ``GET /agents/{agent}/analytics``: an agent's runs,
sessions, tokens, cost, success rate, daily activity, latency and time to
first token.  ``usage_analytics`` is what the console charts, for one agent
or every agent a user sees: the same numbers per day, latency percentiles
per day included.

Everything is aggregated by the database, in a fixed number of queries
whatever the range and the rows.  Percentiles are nearest-rank values: the
API's are read with ORDER BY and OFFSET after a count; the console's, per day
and over the range, come from one query ranking each row's duration within
its day and within the range with window functions (``ROW_NUMBER``,
``COUNT``) and keeping only the ranks wanted, which SQLite (3.25+) and
PostgreSQL both run without sending the other rows."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from agents.models import Agent
from agents.selectors import of_visible_agents
from core.db.functions import UtcDate
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


def _range(days: int, now: datetime | None) -> tuple[datetime, date, datetime]:
    """``(now, first day, its midnight)``: the last ``days`` UTC days, today included."""
    now = now or timezone.now()
    first_day = now.astimezone(UTC).date() - timedelta(days=days - 1)
    return now, first_day, datetime.combine(first_day, time.min, tzinfo=UTC)


def agent_analytics(agent: Agent, *, days: int, now: datetime | None = None) -> dict:
    """The analytics of API.md §6 for the ``days`` days up to ``now`` (UTC
    days, today included); ``daily_runs`` lists every one of them."""
    now, first_day, since = _range(days, now)
    runs = Execution.objects.filter(agent=agent, created_at__gte=since, created_at__lte=now).order_by()
    finished = runs.filter(status__in=FINISHED_STATUSES)

    totals = runs.aggregate(
        runs=Count("pk"), finished=Count("pk", filter=Q(status__in=FINISHED_STATUSES)),
        succeeded=Count("pk", filter=Q(status=ExecutionStatus.SUCCEEDED)),
        timed=Count("duration_ms", filter=Q(status__in=FINISHED_STATUSES)),
        prompt=Sum("tokens_prompt"), completion=Sum("tokens_completion"), cost=Sum("cost_usd"),
        **{f"trigger_{trigger}": Count("pk", filter=Q(trigger=trigger)) for trigger in Trigger.values})
    per_day = {
        _day(row["day"]): row for row in runs.annotate(day=UtcDate("created_at")).values("day")
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


# --- the console's usage charts ---------------------------------------------------------------------

PERCENTILES = {"p50": 50, "p95": 95}


def _nearest_rank(count: int, percent: int) -> int:
    """``ceil(count * percent / 100)``, in integers."""
    return (count * percent + 99) // 100


def _nearest_rank_sql(count, percent: int):
    """The same rank computed by the database: SQLite and PostgreSQL both
    divide integers exactly, so no float rounding can pick another row."""
    return (count * percent + 99) / 100


def _duration_percentiles(finished: QuerySet) -> tuple[dict, dict]:
    """Nearest-rank latency percentiles of ``finished`` executions per UTC
    day (``{date: {"p50", "p95"}}``) and over all of them (``{"p50", "p95"}``),
    in one query: each row ranked within its day and within the range by two
    windows over one read of the rows, returning only the rows ranked where a
    percentile falls (at most two a day, and two)."""
    day = UtcDate("created_at")
    order = [F("duration_ms").asc(), F("id").asc()]
    ranked = finished.filter(duration_ms__isnull=False).annotate(
        day=day,
        day_rank=Window(RowNumber(), partition_by=[day], order_by=order),
        day_count=Window(Count("pk"), partition_by=[day]),
        rank=Window(RowNumber(), order_by=order),
        count=Window(Count("pk")),
    )
    wanted = [When(**{rank: _nearest_rank_sql(F(count), percent)}, then=Value(1))
              for rank, count in (("day_rank", "day_count"), ("rank", "count")) for percent in PERCENTILES.values()]
    rows = ranked.annotate(pick=Case(*wanted, default=Value(0), output_field=IntegerField())).filter(pick=1)
    per_day: dict = {}
    overall: dict = {}
    for row in rows.values("day", "day_rank", "day_count", "rank", "count", "duration_ms"):
        for name, percent in PERCENTILES.items():
            if row["day_rank"] == _nearest_rank(row["day_count"], percent):
                per_day.setdefault(_day(row["day"]), {})[name] = row["duration_ms"]
            if row["rank"] == _nearest_rank(row["count"], percent):
                overall[name] = row["duration_ms"]
    return per_day, overall


def usage_analytics(runs: QuerySet[Execution], *, days: int, now: datetime | None = None) -> dict:
    """Per-day usage of the executions in ``runs`` over the last ``days`` UTC
    days: runs, succeeded, failed (finished otherwise), success rate, tokens,
    cost and latency p50/p95, every day listed (zeros and ``None`` for idle
    ones), with the totals of the range.  Two queries, whatever the range
    and however many executions or agents ``runs`` covers."""
    now, first_day, since = _range(days, now)
    runs = runs.filter(created_at__gte=since, created_at__lte=now).order_by()
    finished = runs.filter(status__in=FINISHED_STATUSES)
    per_day = {
        _day(row["day"]): row for row in runs.annotate(day=UtcDate("created_at")).values("day")
        .annotate(runs=Count("pk"), finished=Count("pk", filter=Q(status__in=FINISHED_STATUSES)),
                  succeeded=Count("pk", filter=Q(status=ExecutionStatus.SUCCEEDED)),
                  prompt=Sum("tokens_prompt"), completion=Sum("tokens_completion"), cost=Sum("cost_usd"))
        .order_by("day")}
    latency, overall = _duration_percentiles(finished)

    daily = [_usage_day(first_day + timedelta(days=offset), per_day, latency) for offset in range(days)]
    finished_count = sum(day["finished"] for day in daily)
    succeeded = sum(day["succeeded"] for day in daily)
    return {
        "days": days,
        "since": since,
        "runs": sum(day["runs"] for day in daily),
        "succeeded": succeeded,
        "failed": finished_count - succeeded,
        "success_rate": round(succeeded / finished_count, 4) if finished_count else None,
        "tokens": sum(day["tokens"] for day in daily),
        "cost_usd": sum(day["cost_usd"] for day in daily),
        "latency_ms": {name: overall.get(name) for name in PERCENTILES},
        "daily": daily,
    }


def _usage_day(day: date, per_day: dict, latency: dict) -> dict:
    row = per_day.get(day, {})
    finished, succeeded = row.get("finished", 0), row.get("succeeded", 0)
    percentiles = latency.get(day, {})
    return {"date": day, "runs": row.get("runs", 0), "finished": finished, "succeeded": succeeded,
            "failed": finished - succeeded,
            "success_rate": round(succeeded / finished, 4) if finished else None,
            "tokens": (row.get("prompt") or 0) + (row.get("completion") or 0),
            "cost_usd": float(row.get("cost") or 0),
            "p50_ms": percentiles.get("p50"), "p95_ms": percentiles.get("p95")}


def agent_usage(agent: Agent, *, days: int, now: datetime | None = None) -> dict:
    """``usage_analytics`` of one agent (its overview)."""
    return usage_analytics(Execution.objects.filter(agent=agent), days=days, now=now)


def user_usage(user, *, days: int, now: datetime | None = None) -> dict:
    """``usage_analytics`` of every agent ``user`` may see (the dashboard)."""
    return usage_analytics(Execution.objects.filter(of_visible_agents(user)),
                           days=days, now=now)
