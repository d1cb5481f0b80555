"""The "Add to calendar" file: it parses back, keeps its identity, and means the right instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vGeo

from bot.calendar import PRODID, event_ics

MADRID = ZoneInfo("Europe/Madrid")


def build(**changes: Any) -> bytes:
    values: dict[str, Any] = {
        "event_id": 42,
        "title": "Street party",
        "starts_at": datetime(2026, 12, 5, 18, 30, tzinfo=MADRID),
        "ends_at": datetime(2026, 12, 5, 21, 0, tzinfo=MADRID),
        "zone": MADRID,
        "place": "Plaza Mayor",
        "latitude": None,
        "longitude": None,
        "description": "Bring a chair",
        "sequence": 0,
    }
    values.update(changes)
    return event_ics(**values)


def parse(data: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(data)
    events = calendar.events
    assert len(events) == 1
    return calendar, events[0]


def start(event: Event) -> datetime:
    value = event.start
    assert isinstance(value, datetime)
    return value


def end(event: Event) -> datetime:
    value = event.end
    assert isinstance(value, datetime)
    return value


def test_the_file_parses_back_as_one_published_event() -> None:
    calendar, event = parse(build())
    assert str(calendar["PRODID"]) == PRODID
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["SUMMARY"]) == "Street party"
    assert str(event["UID"]) == "event-42@porchlight"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTAMP").tzinfo is not None


def test_start_and_end_carry_the_zone_and_the_right_instant() -> None:
    _, event = parse(build())
    assert event["DTSTART"].params["TZID"] == "Europe/Madrid"
    assert event["DTEND"].params["TZID"] == "Europe/Madrid"
    assert start(event).astimezone(UTC) == datetime(2026, 12, 5, 17, 30, tzinfo=UTC)
    assert end(event).astimezone(UTC) == datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


def test_the_time_zone_is_described_in_the_file() -> None:
    calendar, _ = parse(build())
    zones = [c for c in calendar.walk("VTIMEZONE") if isinstance(c, Timezone)]
    assert [str(z["TZID"]) for z in zones] == ["Europe/Madrid"]
    assert calendar.get_missing_tzids() == set()


def test_daylight_saving_is_respected() -> None:
    # Madrid leaves summer time on 2026-10-25: 10:00 is 09:00 UTC that day, 08:00 the day before.
    after = datetime(2026, 10, 25, 10, 0, tzinfo=MADRID)
    before = datetime(2026, 10, 24, 10, 0, tzinfo=MADRID)
    _, event = parse(build(starts_at=after, ends_at=None))
    assert start(event).astimezone(UTC) == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    _, event = parse(build(starts_at=before, ends_at=None))
    assert start(event).astimezone(UTC) == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)


def test_the_file_timezone_agrees_with_zoneinfo_across_the_change() -> None:
    # Read with the VTIMEZONE in the file only, as a calendar app would.
    calendar, _ = parse(build(starts_at=datetime(2026, 10, 25, 10, 0, tzinfo=MADRID)))
    from_file = calendar.timezones[0].to_tz()
    for day in (24, 25):
        wall = datetime(2026, 10, day, 10, 0)
        assert wall.replace(tzinfo=from_file).utcoffset() == wall.replace(tzinfo=MADRID).utcoffset()


def test_times_given_in_another_zone_are_written_in_the_event_zone() -> None:
    _, event = parse(build(starts_at=datetime(2026, 12, 5, 17, 30, tzinfo=UTC), ends_at=None))
    assert event["DTSTART"].params["TZID"] == "Europe/Madrid"
    assert start(event).replace(tzinfo=None) == datetime(2026, 12, 5, 18, 30)


def test_without_an_end_the_event_lasts_two_hours() -> None:
    _, event = parse(build(ends_at=None))
    assert end(event) - start(event) == timedelta(hours=2)


def test_an_end_before_the_start_falls_back_to_two_hours() -> None:
    _, event = parse(build(ends_at=datetime(2026, 12, 5, 17, 0, tzinfo=MADRID)))
    assert end(event) - start(event) == timedelta(hours=2)


def test_the_uid_is_stable_across_versions() -> None:
    _, first = parse(build(sequence=0))
    _, second = parse(
        build(sequence=1, starts_at=datetime(2026, 12, 6, 19, 0, tzinfo=MADRID), ends_at=None)
    )
    assert str(first["UID"]) == str(second["UID"]) == "event-42@porchlight"
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (0, 1)
    _, other = parse(build(event_id=43, domain="porch.example"))
    assert str(other["UID"]) == "event-43@porch.example"


def test_user_text_survives_commas_semicolons_and_newlines() -> None:
    place = "Plaza Mayor, 1; portal B\nnext to the fountain"
    description = "Bring food, chairs; music\nand \\ good mood"
    title = "Party; all welcome, really"
    data = build(place=place, description=description, title=title)
    assert b"Plaza Mayor\\, 1\\; portal B\\nnext" in data
    _, event = parse(data)
    assert str(event["LOCATION"]) == place
    assert str(event["DESCRIPTION"]) == description
    assert str(event["SUMMARY"]) == title


def test_long_and_accented_text_survives_line_folding() -> None:
    description = "Fiesta en la calle — ¡traed comida! " * 20
    _, event = parse(build(description=description))
    assert str(event["DESCRIPTION"]) == description


def test_coordinates_give_geo_and_keep_the_place_text() -> None:
    _, event = parse(build(latitude=40.4168, longitude=-3.7038))
    geo = event["GEO"]
    assert isinstance(geo, vGeo)
    assert (geo.latitude, geo.longitude) == (40.4168, -3.7038)
    assert str(event["LOCATION"]) == "Plaza Mayor"


def test_a_pin_without_place_text_becomes_the_location() -> None:
    _, event = parse(build(place=None, latitude=40.4168, longitude=-3.7038))
    assert str(event["LOCATION"]) == "40.4168, -3.7038"
    assert "GEO" in event


def test_no_place_and_no_pin_means_no_location_nor_geo() -> None:
    _, event = parse(build(place=None, description=None))
    assert "LOCATION" not in event
    assert "GEO" not in event
    assert "DESCRIPTION" not in event
