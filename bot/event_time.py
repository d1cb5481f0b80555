"""Reading the start or end time an officer types, and writing it back for residents.

Officers type dates the way they speak, in English or Spanish. A misread date sends neighbours
to the wrong evening, so anything we cannot read with confidence (05/12: May or December?) is
reported as "unclear" and the officer is asked again, rather than guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_datetime

UNCLEAR = "unclear"
PAST = "past"


@dataclass(frozen=True)
class When:
    """What we understood: a moment, or why there is none."""

    moment: datetime | None  # aware, in `zone`, when understood and acceptable
    problem: str | None  # None, "unclear" (could not read it, or ambiguous) or "past"


def _numbered(rows: list[str], start: int) -> dict[str, int]:
    """Each spelling in row i (English and Spanish, full and short) maps to start + i."""
    return {name: number for number, row in enumerate(rows, start) for name in row.split()}


_MONTHS = _numbered(
    [
        "january jan enero ene",
        "february feb febrero",
        "march mar marzo",
        "april apr abril abr",
        "may mayo",
        "june jun junio",
        "july jul julio",
        "august aug agosto ago",
        "september sep sept septiembre setiembre set",
        "october oct octubre",
        "november nov noviembre",
        "december dec diciembre dic",
    ],
    start=1,
)
# Monday is 0, as in date.weekday(). No Spanish "mar": alone it could as well be March.
_WEEKDAYS = _numbered(
    [
        "monday mon lunes lun",
        "tuesday tue tues martes",
        "wednesday wed miercoles mie",
        "thursday thu thur thurs jueves jue",
        "friday fri viernes vie",
        "saturday sat sabado sab",
        "sunday sun domingo dom",
    ],
    start=0,
)

_DAYS_FROM_TODAY = {
    "today": 0,
    "hoy": 0,
    "tomorrow": 1,
    "manana": 1,
    "day after tomorrow": 2,
    "pasado manana": 2,
}

_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = "(?:" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")\.?"
_ORDINAL = r"(?:st|nd|rd|th|o|a)?"

_TIME = (
    r"(?P<hour>\d{1,2})"
    r"(?:[:.h](?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
    r"\s*(?P<suffix>am|pm|h|hs|hrs)?"
)
_SEPARATOR = r"(?:\s*[,@]\s*|\s+)(?:(?:at|a\s+las?|alle|um)\s+)?"
_DATE_THEN_TIME = re.compile(rf"(?P<date>.+?){_SEPARATOR}{_TIME}")
_TIME_THEN_DATE = re.compile(rf"{_TIME}(?:\s*,\s*|\s+)(?P<date>.+)")

_ISO = re.compile(r"(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})")
_NUMERIC = re.compile(
    r"(?P<day>\d{1,2})(?P<sep>[/.\-])(?P<month>\d{1,2})(?:(?P=sep)(?P<year>\d{4}|\d{2}))?"
)
_DAY_MONTH = re.compile(
    rf"(?P<day>\d{{1,2}}){_ORDINAL}[\s\-/]*(?:(?:de|of)\s+)?{_MONTH}"
    r"(?:[\s\-/,]*(?:de\s+)?(?P<year>\d{4}))?"
)
_MONTH_DAY = re.compile(
    rf"{_MONTH}[\s\-/]*(?P<day>\d{{1,2}}){_ORDINAL}(?:\s*,?\s*(?P<year>\d{{4}}))?"
)
_LEADING_WEEKDAY = re.compile(rf"(?P<weekday>{_WEEKDAY})\s*,?\s+(?P<rest>.+)")
_LEADING_FILLER = re.compile(r"(?:on|the|this|el|este)\s+")


class _Unclear(Exception):
    """The text cannot be read with confidence."""


def _normalise(text: str) -> str:
    """Lower case without accents or repeated spaces, so "Mañana  6 P.M." matches "manana 6 pm"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"(\d)t(\d)", r"\1 \2", plain)  # ISO 2026-12-05T18:30
    plain = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", plain)
    return " ".join(plain.split()).strip(" ,")


def _wall_time(match: re.Match[str]) -> time:
    """The time of day; a bare number ("5 dec 18") is not a time."""
    hour = int(match["hour"])
    minute = int(match["minute"] or 0)
    second = int(match["second"] or 0)
    suffix = match["suffix"]
    if match["minute"] is None and suffix is None:
        raise _Unclear
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise _Unclear
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise _Unclear
    return time(hour, minute, second)


def _day(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _Unclear from None


def _without_year(month: int, day: int, today: date) -> date:
    """The next such day at or after today: in December, "5 Jan" is next January."""
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise _Unclear


def _calendar_date(month: int, day: int, year: str | None, today: date) -> date:
    if year is None:
        return _without_year(month, day, today)
    number = int(year)
    return _day(number + 2000 if len(year) == 2 else number, month, day)


def _explicit_date(text: str, today: date) -> date:
    """A date written out: ISO, day/month numbers, or a month name (English or Spanish)."""
    if m := _ISO.fullmatch(text):
        return _day(int(m["year"]), int(m["month"]), int(m["day"]))
    if m := _NUMERIC.fullmatch(text):
        day, month = int(m["day"]), int(m["month"])
        if day <= 12 and month <= 12 and day != month:
            raise _Unclear  # 05/12: the fifth of December, or May the twelfth?
        return _calendar_date(month, day, m["year"], today)
    m = _DAY_MONTH.fullmatch(text) or _MONTH_DAY.fullmatch(text)
    if m:
        return _calendar_date(_MONTHS[m["month"]], int(m["day"]), m["year"], today)
    if m := _LEADING_WEEKDAY.fullmatch(text):
        # "Sat 5 Dec": the weekday must agree with the date, or we cannot trust either.
        found = _explicit_date(m["rest"], today)
        if found.weekday() != _WEEKDAYS[m["weekday"].rstrip(".")]:
            raise _Unclear
        return found
    raise _Unclear


def _resolve(text: str, at: time, now: datetime, zone: ZoneInfo) -> date:
    """The day meant by `text`; `at` decides whether "friday" on a Friday means today."""
    today = now.astimezone(zone).date()
    if filler := _LEADING_FILLER.match(text):
        text = text[filler.end() :]
    if text in _DAYS_FROM_TODAY:
        return today + timedelta(days=_DAYS_FROM_TODAY[text])
    weekday = _WEEKDAYS.get(text.rstrip("."))
    if weekday is not None:
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 and datetime.combine(today, at, tzinfo=zone) <= now:
            ahead = 7
        return today + timedelta(days=ahead)
    return _explicit_date(text, today)


def _understand(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The wall time meant, in `zone`; the date part first, then the time, or the other way."""
    for pattern in (_DATE_THEN_TIME, _TIME_THEN_DATE):
        if match := pattern.fullmatch(text):
            at = _wall_time(match)
            day = _resolve(match["date"].strip(" ,"), at, now, zone)
            # fold=0: a wall time that happens twice (or never) on a DST change is taken as the
            # first, as zoneinfo does by default.
            return datetime.combine(day, at, tzinfo=zone)
    raise _Unclear


def parse_when(text: str, *, now: datetime, zone: ZoneInfo) -> When:
    """Read an event time an officer typed; a time of day is always required."""
    try:
        moment = _understand(_normalise(text), now, zone)
    except _Unclear:
        return When(None, UNCLEAR)
    if moment <= now:
        return When(None, PAST)
    return When(moment, None)


def format_when(moment: datetime, zone: ZoneInfo, language: str) -> str:
    """A date residents read at a glance: "Sat 5 Dec 2026, 18:30" or "sáb 5 dic 2026, 18:30"."""
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    text = format_datetime(moment, "EEE d MMM y, HH:mm", tzinfo=zone, locale=locale)
    return re.sub(r"(?<=[^\W\d_])\.", "", text)  # "sáb. 5 dic." reads better as "sáb 5 dic"
