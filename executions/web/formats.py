"""How the console writes run figures: durations, costs, counts and JSON
values (also the ``run_format`` template filters)."""

from __future__ import annotations

import json


def duration_label(ms: int | None) -> str:
    """``850 ms``, ``2.4 s``, ``3 min 5 s``; an em dash for ``None``."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def usd_label(value) -> str:
    """A cost in dollars, with the precision small LLM costs need."""
    if value is None:
        return "—"
    value = float(value)
    if value == 0:
        return "$0"
    if 0 < value < 0.01:
        return f"${value:,.6f}".rstrip("0").rstrip(".")
    return f"${value:,.4f}"


def count_label(value) -> str:
    return f"{value:,}"


def percent_label(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.0f}%"


def pretty_json(value) -> str:
    """``value`` as indented JSON for a <pre>; empty for ``None``."""
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
