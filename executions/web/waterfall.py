"""An execution's trace laid out as a waterfall: one bar per step on the
execution's time axis, so branches that ran concurrently overlap, with each
provider attempt (retries, fallbacks) drawn inside its step's bar.

Positions are percentages of the axis: a bar's left edge is its step's start
minus the execution's start, its width the step's duration (a step still
running reaches ``now``).  The trace records each attempt's duration but not
its start, so attempts are laid end to end from the step's start: their
order and relative lengths are exact, the backoff pauses between them are not
drawn."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from executions.web.formats import duration_label, pretty_json

MIN_BAR_PERCENT = 0.6  # an instant step still shows as a sliver
TICKS = 4


@dataclass
class AttemptMark:
    number: int
    provider: str
    model: str
    ok: bool
    status: int | None
    error: str
    duration_ms: int
    retry: bool       # not the first try of its model
    fallback: bool    # another model than the step's first
    left: float = 0.0
    width: float = 0.0

    @property
    def kind(self) -> str:
        return "ok" if self.ok else "failed"


@dataclass
class Row:
    step: object
    start_ms: int
    duration_ms: int
    running: bool
    left: float
    width: float
    attempts: list[AttemptMark] = field(default_factory=list)
    input_json: str = ""
    output_json: str = ""
    error_json: str = ""

    @property
    def retries(self) -> int:
        return sum(1 for a in self.attempts if a.retry)

    @property
    def fallbacks(self) -> list[str]:
        """The fallback models tried, in order."""
        return list(dict.fromkeys(a.model for a in self.attempts if a.fallback))


@dataclass
class Waterfall:
    total_ms: int
    rows: list[Row]
    ticks: list[tuple[float, str]]


def execution_waterfall(execution, steps: list, *, now: datetime | None = None) -> Waterfall:
    """Lay out ``steps`` (in sequence order) on ``execution``'s time axis."""
    now = now or timezone.now()
    origin = min([execution.started_at or execution.created_at, *(s.started_at for s in steps)])
    ends = [_end(step, now) for step in steps]
    finish = execution.finished_at or (now if execution.status in ("queued", "running") else None)
    end = max([origin, *ends, *([finish] if finish else [])])
    total = max(1, _ms(end - origin))
    rows = [_row(step, step_end, origin, total) for step, step_end in zip(steps, ends, strict=True)]
    return Waterfall(total_ms=total, rows=rows, ticks=_ticks(total))


def _end(step, now: datetime) -> datetime:
    if step.finished_at is not None:
        return step.finished_at
    return now if step.status == "running" else step.started_at


def _ms(delta) -> int:
    return max(0, int(delta.total_seconds() * 1000))


def _row(step, end: datetime, origin: datetime, total: int) -> Row:
    start = _ms(step.started_at - origin)
    duration = step.duration_ms if step.duration_ms is not None else _ms(end - step.started_at)
    left = round(min(100.0, start / total * 100), 3)
    width = round(max(MIN_BAR_PERCENT, min(100.0 - left, duration / total * 100)), 3)
    return Row(step=step, start_ms=start, duration_ms=duration, running=step.status == "running",
               left=left, width=width, attempts=_attempts(step.attempts or [], duration),
               input_json=pretty_json(step.input), output_json=pretty_json(step.output),
               error_json=pretty_json(step.error))


def _attempts(attempts: list[dict], step_ms: int) -> list[AttemptMark]:
    """The step's provider calls as marks inside its bar (percentages of the bar)."""
    if not attempts:
        return []
    first = (attempts[0].get("provider"), attempts[0].get("model"))
    span = max(step_ms, sum(int(a.get("duration_ms") or 0) for a in attempts), 1)
    marks, offset = [], 0
    for attempt in attempts:
        duration = int(attempt.get("duration_ms") or 0)
        marks.append(AttemptMark(
            number=int(attempt.get("attempt") or 1), provider=str(attempt.get("provider") or ""),
            model=str(attempt.get("model") or ""), ok=bool(attempt.get("ok")), status=attempt.get("status"),
            error=str(attempt.get("error") or ""), duration_ms=duration,
            retry=int(attempt.get("attempt") or 1) > 1,
            fallback=(attempt.get("provider"), attempt.get("model")) != first,
            left=round(offset / span * 100, 3), width=round(max(1.0, duration / span * 100), 3)))
        offset += duration
    return marks


def _ticks(total: int) -> list[tuple[float, str]]:
    return [(round(i / TICKS * 100, 3), duration_label(round(total * i / TICKS))) for i in range(TICKS + 1)]

