"""Statistics for officers: /stats and the weekly digest (bot.digest) show the same report.

A report covers a period of WEEKS ISO weeks in TIMEZONE (Monday 00:00 to Monday 00:00, so a
week across a change of clocks is counted whole): /stats ends with the week in progress (shown
as "so far"), the digest with the last complete week. It holds open tips by status and
urgency (now), tips by category and week (spam counted apart: a tip an officer marked as spam
is no sign of what happens in the neighbourhood), the median and 90th percentile of the time
from filing to the first answer (an officer's first reply to the resident) and to resolution,
over tips filed in the period (spam left out), the ratings residents gave in the period,
broadcasts created in it with what became of their deliveries, and events held in it.
Everything is counted in SQL (storage.stats); this module only arranges and words it, in the
officer chat's language, with dates in TIMEZONE.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal

from bot.categories import CATEGORIES
from bot.charts import ChartSpec, Series
from bot.i18n import N_, Html, plain, translate
from bot.schedule import monday_of, week_bounds
from storage import Store
from storage.stats import BroadcastCounts, Durations, EventCounts, Ratings, WeekCount

WEEKS = 8
NONE = "—"
OPEN_STATUSES = {
    "new": N_("tips.status_new"),
    "acknowledged": N_("tips.status_acknowledged"),
    "taken": N_("tips.status_taken"),
}
SHORT_CATEGORIES = {
    "person": N_("stats.short_person"),
    "vehicle": N_("stats.short_vehicle"),
    "theft": N_("stats.short_theft"),
    "vandalism": N_("stats.short_vandalism"),
    "hazard": N_("stats.short_hazard"),
    "other": N_("stats.short_other"),
}
BROADCAST_KINDS = {
    "weekly": N_("stats.kind_weekly"),
    "alert": N_("stats.kind_alert"),
    "announcement": N_("stats.kind_announcement"),
    "event": N_("stats.kind_event"),
}


@dataclass(frozen=True)
class Period:
    """Consecutive ISO weeks in TIMEZONE: their Mondays, and the local midnights that bound
    them (one more than the weeks)."""

    mondays: tuple[date, ...]
    bounds: tuple[datetime, ...]

    @property
    def start(self) -> datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]

    def week_number(self, index: int) -> int:
        return self.mondays[index].isocalendar().week


def weeks_up_to(moment: datetime, zone: ZoneInfo, *, current: bool, weeks: int = WEEKS) -> Period:
    """`weeks` ISO weeks ending with `moment`'s week (`current`) or with the one before it."""
    last = monday_of(moment, zone) - timedelta(weeks=0 if current else 1)
    first = last - timedelta(weeks=weeks - 1)
    bounds = week_bounds(first, weeks, zone)
    return Period(tuple(b.date() for b in bounds[:-1]), tuple(bounds))


def by_category(counts: Sequence[WeekCount], weeks: int) -> list[dict[str, int]]:
    """Per week, tips by category (spam left out); a category this version does not know
    counts as "other"."""
    table: list[dict[str, int]] = [dict.fromkeys(CATEGORIES, 0) for _ in range(weeks)]
    for entry in counts:
        if not entry.spam:
            category = entry.category if entry.category in CATEGORIES else "other"
            table[entry.week][category] += entry.count
    return table


@dataclass(frozen=True)
class OfficerReport:
    period: Period
    current: bool  # the last week is the one in progress
    open: dict[tuple[str, bool], int]  # (status, urgent) → open tips now
    weeks: tuple[dict[str, int], ...]  # per week: category → tips (spam left out)
    spam: tuple[int, ...]  # per week: tips marked as spam
    answer: Durations
    resolution: Durations
    ratings: Ratings
    broadcasts: tuple[BroadcastCounts, ...]
    events: EventCounts

    @property
    def filed(self) -> int:
        return sum(sum(week.values()) for week in self.weeks)


async def officer_report(store: Store, period: Period, *, current: bool) -> OfficerReport:
    """Every count of the report, read at once."""
    start, end = period.start, period.end
    async with store.read() as tx:
        opened = await tx.stats.open_tips()
        counts = await tx.stats.by_week(period.bounds)
        answer = await tx.stats.durations("answer", start, end)
        resolution = await tx.stats.durations("resolution", start, end)
        ratings = await tx.stats.ratings(start, end)
        broadcasts = await tx.stats.broadcasts(start, end)
        # Events that took place: this week's still to come are not counted yet.
        events = await tx.stats.events(start, min(end, tx.clock.now()))
    weeks = len(period.mondays)
    spam = [0] * weeks
    for entry in counts:
        if entry.spam:
            spam[entry.week] += entry.count
    return OfficerReport(
        period=period,
        current=current,
        open={(entry.status, entry.urgent): entry.count for entry in opened},
        weeks=tuple(by_category(counts, weeks)),
        spam=tuple(spam),
        answer=answer,
        resolution=resolution,
        ratings=ratings,
        broadcasts=tuple(broadcasts),
        events=events,
    )


def number(value: int, lang: str) -> str:
    return format_decimal(value, locale=lang)


def average(value: float | None, lang: str) -> str:
    return NONE if value is None else format_decimal(value, "0.0", locale=lang)


def duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return NONE
    return format_timedelta(timedelta(seconds=seconds), threshold=1.1, locale=lang)


def day(value: date, lang: str) -> str:
    return format_date(value, "d MMM", locale=lang)


def period_line(report: OfficerReport, lang: str, *, digest: bool) -> str:
    """The title: which weeks, from which Monday to which Sunday."""
    period = report.period
    values = {
        "first": period.week_number(0),
        "last": period.week_number(len(period.mondays) - 1),
        "start": day(period.mondays[0], lang),
        "end": day(period.mondays[-1] + timedelta(days=6), lang),
    }
    title = translate(lang, N_("stats.digest_title") if digest else N_("stats.title"), **values)
    return title + (translate(lang, "stats.so_far") if report.current else "")


def report_html(report: OfficerReport, lang: str, *, digest: bool = False) -> str:
    """The report as one message in the officer chat's language."""
    lines = [period_line(report, lang, digest=digest), _open_line(report, lang)]
    spam = sum(report.spam)
    filed = translate(lang, "stats.filed", count=number(report.filed, lang))
    if spam:
        filed += translate(lang, "stats.filed_spam", spam=number(spam, lang))
    lines.append(filed)
    for key, durations in (
        (N_("stats.first_answer"), report.answer),
        (N_("stats.resolution"), report.resolution),
    ):
        lines.append(
            translate(
                lang,
                key,
                median=duration(durations.median, lang),
                p90=duration(durations.p90, lang),
                count=number(durations.count, lang),
                filed=number(report.filed, lang),
            )
        )
    lines.append(
        translate(
            lang,
            "stats.ratings",
            count=number(report.ratings.count, lang),
            average=average(report.ratings.average, lang),
        )
    )
    lines.append(_broadcasts_line(report.broadcasts, lang))
    events = report.events
    lines.append(
        translate(
            lang,
            "stats.events",
            held=number(events.held, lang),
            going=number(events.going, lang),
            rated=number(events.rated, lang),
            average=average(events.average_rating, lang),
        )
    )
    return "\n".join(lines) + "\n\n" + week_table_html(report, lang)


def _open_line(report: OfficerReport, lang: str) -> str:
    total = sum(report.open.values())
    if not total:
        return translate(lang, "stats.open_none")
    parts = []
    for status, key in OPEN_STATUSES.items():
        count = report.open.get((status, False), 0) + report.open.get((status, True), 0)
        urgent = report.open.get((status, True), 0)
        values = {"status": plain(lang, key), "count": number(count, lang)}
        if urgent:
            parts.append(translate(lang, "stats.open_urgent", urgent=urgent, **values))
        else:
            parts.append(translate(lang, "stats.open_status", **values))
    return translate(
        lang, "stats.open", total=number(total, lang), statuses=Html(" · ".join(parts))
    )


def _broadcasts_line(broadcasts: Sequence[BroadcastCounts], lang: str) -> str:
    if not broadcasts:
        return translate(lang, "stats.broadcasts_none")
    kinds = " · ".join(
        translate(
            lang,
            "stats.kind_count",
            kind=plain(lang, BROADCAST_KINDS.get(b.kind, b.kind)),
            count=number(b.broadcasts, lang),
        )
        for b in broadcasts
    )
    return translate(
        lang,
        "stats.broadcasts",
        kinds=Html(kinds),
        messages=number(sum(b.recipients for b in broadcasts), lang),
        delivered=number(sum(b.delivered for b in broadcasts), lang),
        unreachable=number(sum(b.unreachable for b in broadcasts), lang),
        failed=number(sum(b.failed for b in broadcasts), lang),
        pending=number(sum(b.pending for b in broadcasts), lang),
    )


def week_table_html(report: OfficerReport, lang: str) -> str:
    """Tips by category (rows) and ISO week (columns), in a monospace block: 8 weeks of
    numbers fit a phone's width where 8 dates would not."""
    period = report.period
    weeks = range(len(period.mondays))
    rows = [
        (plain(lang, SHORT_CATEGORIES[category]), [report.weeks[w][category] for w in weeks])
        for category in CATEGORIES
    ]
    rows.append((plain(lang, "stats.short_all"), [sum(report.weeks[w].values()) for w in weeks]))
    rows.append((plain(lang, "stats.short_spam"), list(report.spam)))
    label_width = max(len(label) for label, _ in rows) + 1
    width = max(3, *(len(str(n)) + 1 for _, counts in rows for n in counts))
    header = " " * label_width + "".join(f"{period.week_number(w):>{width}}" for w in weeks)
    lines = [header] + [
        f"{label:<{label_width}}" + "".join(f"{n:>{width}}" for n in counts)
        for label, counts in rows
    ]
    title = translate(lang, "stats.table_title")
    legend = translate(
        lang,
        "stats.table_legend",
        legend=" · ".join(
            f"{short} = {full}"
            for short, full in (
                (plain(lang, SHORT_CATEGORIES[c]), plain(lang, CATEGORIES[c])) for c in CATEGORIES
            )
            if short != full
        ),
    )
    return f"{title}\n<pre>{html.escape(chr(10).join(lines), quote=False)}</pre>\n{legend}"


def officer_chart(report: OfficerReport, lang: str, zone: ZoneInfo) -> ChartSpec:
    """Stacked bars: tips by category per week, spam on top in grey."""
    period = report.period
    weeks = range(len(period.mondays))
    series = [
        Series(
            category,
            plain(lang, CATEGORIES[category]),
            tuple(report.weeks[w][category] for w in weeks),
        )
        for category in CATEGORIES
    ]
    series.append(Series("spam", plain(lang, "stats.chart_spam"), report.spam))
    marks = [""] * len(period.mondays)
    if report.current:
        marks[-1] = plain(lang, "stats.chart_so_far")
    return ChartSpec(
        title=plain(lang, "stats.chart_title"),
        bars=tuple(
            plain(lang, "stats.chart_week", week=period.week_number(w))
            + "\n"
            + day(period.mondays[w], lang)
            for w in weeks
        ),
        series=tuple(series),
        y_label=plain(lang, "stats.chart_tips"),
        x_label=plain(lang, "stats.chart_weeks", zone=str(zone)),
        marks=tuple(marks),
    )


def caption_html(report: OfficerReport, lang: str, *, digest: bool = False) -> str:
    """The chart's caption: the title line alone (the numbers are in the text above it)."""
    return period_line(report, lang, digest=digest)


@dataclass(frozen=True)
class Answer:
    """What /stats answers: the text, then the chart with its caption."""

    html: str
    chart: ChartSpec
    caption: str


async def now_answer(store: Store, lang: str, zone: ZoneInfo) -> Answer:
    """/stats: the WEEKS weeks up to now, this week so far."""
    period = weeks_up_to(store.clock.now(), zone, current=True)
    report = await officer_report(store, period, current=True)
    return Answer(
        report_html(report, lang), officer_chart(report, lang, zone), caption_html(report, lang)
    )
