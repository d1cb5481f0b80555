"""Reading event times as officers type them, and refusing what could be misread."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.event_time import When, format_when, parse_when

MADRID = ZoneInfo("Europe/Madrid")
# A Wednesday noon in Madrid.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=MADRID)


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


def moment(text: str, now: datetime = NOW, zone: ZoneInfo = MADRID) -> datetime:
    when = parse_when(text, now=now, zone=zone)
    assert when.problem is None, (text, when)
    assert when.moment is not None
    return when.moment


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-05 18:30",
        "2026-12-05T18:30",
        "  2026-12-05   18:30 ",
        "5 Dec 18:30",
        "5 DEC 18:30",
        "5 December 2026 18:30",
        "Dec 5 18:30",
        "December 5, 2026 6:30pm",
        "december 5 6:30 PM",
        "5 dec 6:30 p.m.",
        "5 dec 18.30",
        "5 dec 18h30",
        "5th of December 18:30",
        "Sat 5 Dec 18:30",
        "5 dic 18:30",
        "5 diciembre 18:30",
        "5 de diciembre de 2026 18:30",
        "sábado, 5 de diciembre 18:30",
        "el 5 de diciembre a las 18:30",
        "5 dic 2026 18:30",
        "2026/12/05 18:30",
        "5 Dec at 18:30",
        "18:30 5 Dec",
    ],
)
def test_written_dates_are_understood(text: str) -> None:
    assert moment(text) == at(2026, 12, 5, 18, 30)


def test_the_result_is_in_the_zone() -> None:
    assert moment("5 Dec 18:30").tzinfo is MADRID


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("5 dec 6pm", 18, 0),
        ("5 dec 6 pm", 18, 0),
        ("5 dec 18h", 18, 0),
        ("5 dec 12am", 0, 0),
        ("5 dec 12pm", 12, 0),
        ("5 dec 9:05am", 9, 5),
        ("5 dec 00:00", 0, 0),
        ("5 dec 23:59", 23, 59),
    ],
)
def test_times_of_day(text: str, hour: int, minute: int) -> None:
    assert moment(text) == at(2026, 12, 5, hour, minute)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25/12 18:30", at(2026, 12, 25, 18, 30)),
        ("25/12/2026 18:30", at(2026, 12, 25, 18, 30)),
        ("25.12.26 18:30", at(2026, 12, 25, 18, 30)),
        ("12/12 18:30", at(2026, 12, 12, 18, 30)),
        ("13/01 9:00", at(2027, 1, 13, 9, 0)),
    ],
)
def test_numeric_dates_are_day_then_month(text: str, expected: datetime) -> None:
    assert moment(text) == expected


@pytest.mark.parametrize(
    "text", ["05/12 18:30", "5/12 18:30", "05/12/2026 18:30", "1/2 10:00", "12/01 10:00"]
)
def test_numeric_dates_that_read_both_ways_are_unclear(text: str) -> None:
    assert parse_when(text, now=NOW, zone=MADRID) == When(None, "unclear")


def test_without_a_year_the_next_occurrence_is_meant() -> None:
    assert moment("5 Jan 10:00") == at(2027, 1, 5, 10, 0)
    assert moment("1 ene 10:00") == at(2027, 1, 1, 10, 0)
    assert moment("25 Nov 13:00") == at(2026, 11, 25, 13, 0)  # today, still ahead
    assert moment("26 Nov 08:00") == at(2026, 11, 26, 8, 0)


def test_today_earlier_without_a_year_is_past_not_next_year() -> None:
    assert parse_when("25 Nov 11:00", now=NOW, zone=MADRID) == When(None, "past")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today 18:30", at(2026, 11, 25, 18, 30)),
        ("Today 18:30", at(2026, 11, 25, 18, 30)),
        ("hoy 18:30", at(2026, 11, 25, 18, 30)),
        ("tomorrow 18:30", at(2026, 11, 26, 18, 30)),
        ("tomorrow at 6pm", at(2026, 11, 26, 18, 0)),
        ("mañana 18:30", at(2026, 11, 26, 18, 30)),
        ("MAÑANA 18:30", at(2026, 11, 26, 18, 30)),
        ("manana 18:30", at(2026, 11, 26, 18, 30)),
        ("pasado mañana 18:30", at(2026, 11, 27, 18, 30)),
    ],
)
def test_relative_words(text: str, expected: datetime) -> None:
    assert moment(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("friday 18:30", at(2026, 11, 27, 18, 30)),
        ("Fri 18:30", at(2026, 11, 27, 18, 30)),
        ("viernes 18:30", at(2026, 11, 27, 18, 30)),
        ("el viernes a las 18:30", at(2026, 11, 27, 18, 30)),
        ("monday 9:00", at(2026, 11, 30, 9, 0)),
        ("lunes 9:00", at(2026, 11, 30, 9, 0)),
        ("sábado 10:00", at(2026, 11, 28, 10, 0)),
        ("miercoles 10:00", at(2026, 12, 2, 10, 0)),
        # Today is Wednesday: today if the time is still ahead, otherwise next week.
        ("wednesday 13:00", at(2026, 11, 25, 13, 0)),
        ("wednesday 11:00", at(2026, 12, 2, 11, 0)),
        ("miércoles 12:00", at(2026, 12, 2, 12, 0)),
    ],
)
def test_weekdays_mean_the_next_such_day(text: str, expected: datetime) -> None:
    assert moment(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "31 Feb 10:00",
        "2027-02-29 10:00",
        "30/02/2027 10:00",
        "29 Feb 10:00",  # not in 2026 nor 2027
        "5 Dec 25:00",
        "5 Dec 18:60",
        "5 Dec 13pm",
        "5 Dec 0am",
        "5 Dec 18",  # a bare number is not a time
        "5 Dec",
        "18:30",
        "tomorrow",
        "",
        "   ",
        "next friday 18:30",
        "soon",
        "Fri 6 Dec 18:30",  # 6 Dec 2026 is a Sunday
        "5 Decembre 18:30",
        "2026-13-01 10:00",
    ],
)
def test_what_cannot_be_read_is_unclear(text: str) -> None:
    assert parse_when(text, now=NOW, zone=MADRID) == When(None, "unclear")


@pytest.mark.parametrize(
    "text", ["today 11:00", "today 12:00", "hoy 9:00", "2026-11-24 18:00", "1 Jan 2020 10:00"]
)
def test_times_not_after_now_are_past(text: str) -> None:
    assert parse_when(text, now=NOW, zone=MADRID) == When(None, "past")


def test_now_in_another_zone_is_compared_in_absolute_time() -> None:
    now_utc = NOW.astimezone(UTC)  # 11:00 UTC
    assert parse_when("today 12:00", now=now_utc, zone=MADRID) == When(None, "past")
    assert moment("today 12:01", now=now_utc) == at(2026, 11, 25, 12, 1)


def test_today_is_the_local_day_of_the_zone() -> None:
    # 23:30 UTC on the 25th is already the 26th in Madrid.
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert moment("today 10:00", now=late) == at(2026, 11, 26, 10, 0)


def test_wall_times_keep_their_hour_across_daylight_saving() -> None:
    before = datetime(2026, 10, 1, tzinfo=UTC)
    assert moment("2026-10-25 10:00", now=before).astimezone(UTC) == datetime(
        2026, 10, 25, 9, 0, tzinfo=UTC
    )
    assert moment("24 Oct 10:00", now=before).astimezone(UTC) == datetime(
        2026, 10, 24, 8, 0, tzinfo=UTC
    )


def test_year_rollover_near_new_year() -> None:
    eve = at(2026, 12, 31, 20, 0)
    assert moment("tomorrow 10:00", now=eve) == at(2027, 1, 1, 10, 0)
    assert moment("friday 10:00", now=eve) == at(2027, 1, 1, 10, 0)
    assert moment("2 Jan 10:00", now=eve) == at(2027, 1, 2, 10, 0)
    assert moment("31 Dec 21:00", now=eve) == at(2026, 12, 31, 21, 0)


def test_format_in_english_and_spanish() -> None:
    start = datetime(2026, 12, 5, 17, 30, tzinfo=UTC)
    assert format_when(start, MADRID, "en") == "Sat 5 Dec 2026, 18:30"
    assert format_when(start, MADRID, "es") == "sáb 5 dic 2026, 18:30"


def test_format_drops_abbreviation_dots_and_survives_unknown_languages() -> None:
    start = datetime(2026, 12, 5, 17, 30, tzinfo=UTC)
    assert format_when(start, MADRID, "pt-BR") == "sáb 5 dez 2026, 18:30"
    assert format_when(start, MADRID, "xx") == "Sat 5 Dec 2026, 18:30"
