"""The usage charts of the dashboard and an agent's overview: the numbers of
``executions.analytics.usage_analytics`` drawn as server-rendered SVG (no
chart library, nothing to load) and listed in a table.

Each chart is a ``Chart``: bars or lines in a 0–100 × 0–100 box that the
template stretches to its width (strokes keep their width with
``vector-effect``), its largest value for the axis label, and a one-line
summary that is the SVG's accessible name.  ``UsageMixin`` puts the section
on a page and serves the period switch (``?days=7|30|90``) to htmx."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import render

from core.errors import ValidationFailed
from executions.web.formats import count_label, duration_label, percent_label, usd_label

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
PLOT_HEIGHT = 100.0
BAR_GAP = 0.18  # of a day's slot


@dataclass
class Bar:
    x: float
    width: float
    y: float
    height: float
    label: str      # the bar's tooltip
    kind: str = ""  # a CSS modifier: "", "failed"


@dataclass
class Line:
    name: str
    kind: str
    # SVG polyline points ("x,y x,y …"), one run of consecutive days each: a
    # day without a value breaks the line; a lone day is a short dash.
    segments: list[str] = field(default_factory=list)


@dataclass
class Chart:
    key: str
    title: str
    summary: str
    maximum: str
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (kind, label)


def period_from(query) -> int:
    """The ``days`` query parameter: one of ``PERIODS`` (default 30)."""
    raw = query.get("days")
    if raw in (None, ""):
        return DEFAULT_PERIOD
    if raw not in {str(days) for days in PERIODS}:
        choices = ", ".join(map(str, PERIODS))
        raise ValidationFailed(f"days must be one of {choices}.", errors={"days": [f"Choose {choices}."]})
    return int(raw)


def usage_charts(usage: dict) -> list[Chart]:
    """The five charts of a usage summary: runs, success rate, tokens, cost, latency."""
    daily = usage["daily"]
    days = f"the last {usage['days']} days"
    return [
        _runs_chart(daily, days),
        _line_chart("success", "Success rate", daily, [("success_rate", "Success rate", "ok")],
                    maximum=1.0, fmt=percent_label, days=days),
        _bar_chart("tokens", "Tokens", daily, "tokens", fmt=count_label, days=days),
        _bar_chart("cost", "Cost (USD)", daily, "cost_usd", fmt=usd_label, days=days),
        _line_chart("latency", "Latency", daily, [("p50_ms", "p50", "p50"), ("p95_ms", "p95", "p95")],
                    fmt=duration_label, days=days),
    ]


def _slot(daily: list) -> float:
    return 100.0 / max(1, len(daily))


def _scaled(value: float, maximum: float) -> float:
    return round(value / maximum * PLOT_HEIGHT, 3) if maximum else 0.0


def _runs_chart(daily: list, days: str) -> Chart:
    slot, maximum = _slot(daily), max((d["runs"] for d in daily), default=0)
    bars = []
    for i, day in enumerate(daily):
        if not day["runs"]:
            continue
        x, width = round(i * slot + slot * BAR_GAP / 2, 3), round(slot * (1 - BAR_GAP), 3)
        total, failed = _scaled(day["runs"], maximum), _scaled(day["failed"], maximum)
        label = f"{day['date']:%b %d}: {day['runs']} runs, {day['failed']} failed"
        bars.append(Bar(x, width, round(PLOT_HEIGHT - total, 3), round(total - failed, 3), label))
        if failed:
            bars.append(Bar(x, width, round(PLOT_HEIGHT - failed, 3), failed, label, "failed"))
    total = sum(d["runs"] for d in daily)
    failed = sum(d["failed"] for d in daily)
    return Chart("runs", "Runs per day", f"Runs per day over {days}: {total} in total, {failed} failed, "
                 f"at most {maximum} a day.", count_label(maximum), bars=bars,
                 legend=[("", "Runs"), ("failed", "Failed")])


def _bar_chart(key: str, title: str, daily: list, name: str, *, fmt, days: str) -> Chart:
    slot, maximum = _slot(daily), max((d[name] for d in daily), default=0)
    bars = []
    for i, day in enumerate(daily):
        if day[name]:
            height = _scaled(day[name], maximum)
            bars.append(Bar(round(i * slot + slot * BAR_GAP / 2, 3), round(slot * (1 - BAR_GAP), 3),
                            round(PLOT_HEIGHT - height, 3), height, f"{day['date']:%b %d}: {fmt(day[name])}"))
    total = sum(d[name] for d in daily)
    return Chart(key, f"{title} per day", f"{title} per day over {days}: {fmt(total)} in total, "
                 f"at most {fmt(maximum)} a day.", fmt(maximum), bars=bars)


def _line_chart(key: str, title: str, daily: list, series: list[tuple[str, str, str]], *, fmt, days: str,
                maximum: float | None = None) -> Chart:
    """One line per ``(field, label, kind)``; a day without a value breaks the line."""
    found = {name: [d[name] for d in daily if d[name] is not None] for name, _label, _kind in series}
    top = maximum if maximum is not None else max((max(v) for v in found.values() if v), default=0)
    slot = _slot(daily)
    lines = [_line(daily, name, label, kind, top, slot) for name, label, kind in series]
    ranges = [f"{label} from {fmt(min(found[name]))} to {fmt(max(found[name]))}"
              for name, label, _kind in series if found[name]]
    summary = f"{title} per day over {days}: " + (", ".join(ranges) if ranges else "no finished runs") + "."
    return Chart(key, f"{title} per day", summary, fmt(top), lines=lines,
                 legend=[(kind, label) for _name, label, kind in series] if len(series) > 1 else [])


def _line(daily, name, label, kind, top, slot) -> Line:
    line, run = Line(label, kind), []
    for i, day in enumerate([*daily, None]):
        value = day[name] if day is not None else None
        if value is not None:
            run.append((round(i * slot + slot / 2, 3), round(PLOT_HEIGHT - _scaled(value, top), 3)))
            continue
        if len(run) == 1:
            (x, y), half = run[0], round(slot / 4, 3)
            run = [(round(x - half, 3), y), (round(x + half, 3), y)]
        if run:
            line.segments.append(" ".join(f"{x},{y}" for x, y in run))
        run = []
    return line


def usage_cards(usage: dict) -> list[tuple[str, str]]:
    """The range's totals, as (label, value) for the stat cards."""
    latency = usage["latency_ms"]
    return [("Runs", count_label(usage["runs"])), ("Success rate", percent_label(usage["success_rate"])),
            ("Tokens", count_label(usage["tokens"])), ("Cost", usd_label(usage["cost_usd"])),
            ("Latency p50", duration_label(latency["p50"])), ("Latency p95", duration_label(latency["p95"]))]


def usage_rows(usage: dict) -> list[dict]:
    """Every day's numbers, newest first, written out for the table."""
    return [{"date": day["date"], "runs": count_label(day["runs"]), "failed": count_label(day["failed"]),
             "success_rate": percent_label(day["success_rate"]), "tokens": count_label(day["tokens"]),
             "cost": usd_label(day["cost_usd"]), "p50": duration_label(day["p50_ms"]),
             "p95": duration_label(day["p95_ms"])} for day in reversed(usage["daily"])]


class UsageMixin:
    """A page with the usage section: ``usage_for(days)`` gives the numbers;
    the period switch (``?days=``) asks htmx to replace ``#usage`` only, and
    gets just that section back."""

    usage_template = "console/executions/includes/usage.html"

    def usage_for(self, days: int) -> dict:
        raise ImproperlyConfigured(f"{type(self).__name__} must say whose usage it shows: define usage_for(days).")

    def get(self, request, *args, **kwargs):
        if request.htmx and request.htmx.target == "usage":
            return render(request, self.usage_template, self.usage_context())
        return super().get(request, *args, **kwargs)

    def usage_context(self) -> dict:
        usage = self.usage_for(period_from(self.request.GET))
        return {"usage": usage, "charts": usage_charts(usage), "usage_cards": usage_cards(usage),
                "usage_rows": usage_rows(usage), "periods": PERIODS}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **self.usage_context()}
