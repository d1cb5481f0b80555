"""Cron and week arithmetic for the weekly runs (the safety broadcast, the officers' digest)
and the statistics' ISO weeks (bot.jobs says when a run is due, bot.alarms rings it).

Pure helpers over cron triggers and dates, so the arithmetic (missed runs, daylight saving) is
tested without waiting for a clock.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger


@functools.lru_cache(maxsize=8)
def weekly_trigger(cron: str, zone: ZoneInfo) -> CronTrigger:
    """A cron trigger that fires at most once a week, in local time (DST keeps the hour).
    Cached: the alarm service asks at every commit, and parsing costs a third of a millisecond."""
    trigger = CronTrigger.from_crontab(cron, timezone=zone)
    first = trigger.get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=zone))
    if first is None:
        raise ValueError("never fires")
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    if second is not None and second - first < timedelta(days=6, hours=23):
        raise ValueError("fires more than once a week; a weekly run needs e.g. 0 18 * * MON")
    return trigger


def previous_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last time the trigger fired at or before `now` (within the last eight days)."""
    moment = now - timedelta(days=8)
    last = None
    while True:
        fire = trigger.get_next_fire_time(last, moment)
        if fire is None or fire > now:
            return last
        last, moment = fire, fire + timedelta(seconds=1)


def week_key(fire: datetime, zone: ZoneInfo, prefix: str = "weekly") -> str:
    """The idempotency key of a weekly run: its ISO week in local time, e.g. weekly:2026-W48."""
    year, week, _ = fire.astimezone(zone).isocalendar()
    return f"{prefix}:{year}-W{week:02d}"


def monday_of(moment: datetime, zone: ZoneInfo) -> date:
    """The local date of the Monday that starts `moment`'s ISO week."""
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def week_bounds(first_monday: date, weeks: int, zone: ZoneInfo) -> list[datetime]:
    """The local midnights that start `weeks` consecutive ISO weeks, and the one after the
    last: weeks + 1 aware times (a week across a change of clocks lasts 167 or 169 hours)."""
    return [
        datetime.combine(first_monday + timedelta(weeks=n), time(0), tzinfo=zone)
        for n in range(weeks + 1)
    ]


def next_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The first time the trigger fires strictly after `now`."""
    fire = trigger.get_next_fire_time(None, now)
    if fire is not None and fire <= now:
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return fire
