"""When a cron expression fires: the next run times of a schedule, read in its time zone.

Fields are parsed by Celery's ``crontab`` (what beat uses), so an expression
means the same here as when it fires; the walk over dates is ours because
Celery's own arithmetic skips an hour when clocks go back.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from django.utils import timezone

NEXT_RUNS = 5
UTC = ZoneInfo("UTC")
# How far ahead next_runs looks: Feb 29 on a given weekday recurs within 28 years.
HORIZON_YEARS = 29


def next_runs(cron: str, tz: str, *, count: int = NEXT_RUNS, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` times ``cron`` fires in time zone ``tz``, in UTC;
    fewer (or none) when it fires less often within the horizon.

    Wall-clock times are read in ``tz``: one skipped by a daylight-saving
    change fires at the shifted instant (02:30 on a spring-forward night is
    03:30), one that occurs twice fires twice when the hour field is ``*``
    (so ``*/15 * * * *`` stays every 15 minutes) and once otherwise.
    """
    after = after or timezone.now()
    runs: list[datetime] = []
    if count <= 0:
        return runs
    for moment in _fire_times(cron, ZoneInfo(tz), after):
        runs.append(moment)
        if len(runs) == count:
            break
    return runs


def _parsed(cron: str) -> crontab:
    minute, hour, day_of_month, month, day_of_week = cron.split()
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month,
                   day_of_week=day_of_week)


def _fire_times(cron: str, zone: ZoneInfo, after: datetime):
    spec = _parsed(cron)
    every_hour = cron.split()[1] == "*"
    # A day early: a wall clock set back at midnight puts later instants on an earlier date.
    start = after.astimezone(zone).date() - timedelta(days=1)
    for year in range(start.year, start.year + HORIZON_YEARS + 1):
        for month in sorted(spec.month_of_year):
            if (year, month) < (start.year, start.month):
                continue
            last_day = calendar.monthrange(year, month)[1]
            for day in sorted(d for d in spec.day_of_month if d <= last_day):
                local_date = date(year, month, day)
                # Celery numbers weekdays from Sunday = 0.
                if local_date < start or local_date.isoweekday() % 7 not in spec.day_of_week:
                    continue
                for hour in sorted(spec.hour):
                    yield from _hour_times(local_date, hour, sorted(spec.minute), zone, after, every_hour)


def _hour_times(day: date, hour: int, minutes: list[int], zone: ZoneInfo, after: datetime, every_hour: bool):
    """The instants after ``after`` at which ``hour``:``minutes`` occur on ``day``, in order."""
    latest = datetime(day.year, day.month, day.day, hour, 59, tzinfo=zone, fold=1).astimezone(UTC)
    if latest <= after:
        return
    instants = set()
    for minute in minutes:
        first = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        second = first.replace(fold=1)
        instants.add(first.astimezone(UTC))  # in a gap, fold 0 is the shifted-forward instant
        repeated = first.utcoffset() != second.utcoffset() and _exists(second)
        if repeated and every_hour:
            instants.add(second.astimezone(UTC))
    yield from sorted(moment for moment in instants if moment > after)


def _exists(moment: datetime) -> bool:
    """Whether this wall-clock time really occurs (it is not in a DST gap)."""
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)

