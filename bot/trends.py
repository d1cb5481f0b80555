"""/trends: tips by category over recent weeks, for the whole neighbourhood, without ever
showing a number small enough to point at someone.

The rule (`suppress`, applied to each week on its own, for TRENDS_MIN_COUNT = k):
- a category with at least k tips that week is shown with its count;
- the n others ("small": fewer than k each, zero included — a 0 shown beside "fewer than k"
  would tell that those are at least 1) are shown together as one count m only when
  k ≤ m ≤ (n − 1)(k − 1): the lower bound keeps a number below k out, the upper bound keeps
  any single one of them from being worked out (each could still be anything from 0 to k − 1;
  two small categories of 4 shown as "8 together" would give both away, since neither may be
  5 or more);
- otherwise they are said to have "fewer than k each", in the same words whatever m is, so the
  wording tells nothing about m either.
Nothing finer than category × week is counted, and no total is shown that is not the sum of
the numbers shown beside it (a week's total beside a hidden cell would give it away by
subtraction, and an 8-week total per category likewise): a bar in the chart is as high as the
counts it stacks, and its value axis is labelled in multiples of k, without 0. Only complete
weeks are shown (the WEEKS ISO weeks before the current one, in TIMEZONE), so a resident who
asks twice cannot watch one new tip arrive. Spam is left out, as in officers' statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot import stats
from bot.categories import CATEGORIES
from bot.charts import ChartSpec, Series
from bot.i18n import Html, plain, translate
from storage import Store

SEVERAL = "several"  # the series key of merged categories


@dataclass(frozen=True)
class WeekView:
    """What residents may see of one week."""

    shown: tuple[tuple[str, int], ...]  # (category, count ≥ k), in category order
    together: int | None = None  # the small categories' sum, when it gives none of them away
    hidden: bool = False  # the small categories are shown only as "fewer than k each"

    def numbers(self) -> list[int]:
        """Every count this view shows."""
        together = [] if self.together is None else [self.together]
        return [count for _, count in self.shown] + together


def suppress(counts: Mapping[str, int], minimum: int) -> WeekView:
    """One week's counts by category → what may be shown (the rule is the module's)."""
    shown = tuple((c, counts.get(c, 0)) for c in CATEGORIES if counts.get(c, 0) >= minimum)
    small = [c for c in CATEGORIES if counts.get(c, 0) < minimum]
    if not small:
        return WeekView(shown)
    together = sum(counts.get(c, 0) for c in small)
    if minimum <= together <= (len(small) - 1) * (minimum - 1):
        return WeekView(shown, together=together)
    return WeekView(shown, hidden=True)


@dataclass(frozen=True)
class Trends:
    period: stats.Period
    weeks: tuple[WeekView, ...]
    minimum: int


async def neighbourhood(store: Store, zone: ZoneInfo, minimum: int) -> Trends:
    """The WEEKS complete weeks before now, each week suppressed on its own."""
    period = stats.weeks_up_to(store.clock.now(), zone, current=False)
    async with store.read() as tx:
        counts = await tx.stats.by_week(period.bounds)
    table = stats.by_category(counts, len(period.mondays))
    return Trends(period, tuple(suppress(week, minimum) for week in table), minimum)


def trends_html(trends: Trends, lang: str) -> str:
    period = trends.period
    lines = [
        translate(lang, "trends.title"),
        translate(
            lang,
            "trends.intro",
            weeks=len(period.mondays),
            start=stats.day(period.mondays[0], lang),
            end=stats.day(period.mondays[-1] + timedelta(days=6), lang),
            minimum=trends.minimum,
        ),
        "",
    ]
    for monday, week in zip(period.mondays, trends.weeks, strict=True):
        lines.append(
            translate(
                lang,
                "trends.week",
                week=stats.day(monday, lang),
                cells=Html(_cells(week, trends.minimum, lang)),
            )
        )
    return "\n".join(lines)


def _cells(week: WeekView, minimum: int, lang: str) -> str:
    parts = [
        translate(
            lang, "trends.cell", category=plain(lang, CATEGORIES[c]), count=stats.number(n, lang)
        )
        for c, n in week.shown
    ]
    if week.together is not None:
        key = "trends.several_more" if parts else "trends.several_all"
        parts.append(translate(lang, key, count=stats.number(week.together, lang)))
    elif week.hidden:
        key = "trends.fewer_more" if parts else "trends.fewer_all"
        parts.append(translate(lang, key, minimum=minimum))
    return " · ".join(parts)


def y_ticks(heights: Sequence[int], minimum: int) -> tuple[int, ...]:
    """Multiples of `minimum` (at most about six of them) up to the highest bar, without 0:
    no axis label is a number below the threshold."""
    top = max(heights, default=0)
    step = minimum
    while top / step > 6:
        step += minimum
    count = max(1, -(-top // step))
    return tuple(step * n for n in range(1, count + 1))


def trends_chart(trends: Trends, lang: str) -> ChartSpec:
    """Stacked bars of the counts shown; "<k" above a week whose small categories are
    hidden."""
    weeks = trends.weeks
    series = [
        Series(c, plain(lang, CATEGORIES[c]), tuple(dict(w.shown).get(c, 0) for w in weeks))
        for c in CATEGORIES
    ]
    series.append(
        Series(SEVERAL, plain(lang, "trends.chart_several"), tuple(w.together or 0 for w in weeks))
    )
    mark = plain(lang, "trends.chart_mark", minimum=trends.minimum)
    spec = ChartSpec(
        title=plain(lang, "trends.chart_title"),
        bars=tuple(stats.day(monday, lang) for monday in trends.period.mondays),
        series=tuple(series),
        y_label=plain(lang, "trends.chart_tips"),
        x_label=plain(lang, "trends.chart_note", minimum=trends.minimum),
        marks=tuple(mark if w.hidden else "" for w in weeks),
    )
    return replace(spec, y_ticks=y_ticks(spec.heights(), trends.minimum))
