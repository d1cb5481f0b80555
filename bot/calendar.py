"""The "Add to calendar" file for a community event.

Residents import it into whatever calendar app they use, so it must be plain iCalendar that
survives every app: built with the icalendar library (which escapes what residents type), with
the time zone spelled out, and with a UID that stays the same for the event so that importing a
corrected file updates the entry instead of adding a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

PRODID = "-//Porchlight//Community events//EN"
DEFAULT_LENGTH = timedelta(hours=2)
# The VTIMEZONE only needs the rules around the event; the full 1970-2038 history would make
# a small file large.
_TIMEZONE_MARGIN = timedelta(days=400)


def event_uid(event_id: int, domain: str = "porchlight") -> str:
    """The event's identity in calendars: the same for every version of the file."""
    return f"event-{event_id}@{domain}"


def event_ics(
    *,
    event_id: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime | None,
    zone: ZoneInfo,
    place: str | None,
    latitude: float | None,
    longitude: float | None,
    description: str | None,
    sequence: int,
    domain: str = "porchlight",
) -> bytes:
    """An iCalendar file with one event, in local time of `zone`, ready to send as a document.

    `sequence` must grow whenever the time changes, or calendar apps keep the old one. With no
    end (or an end not after the start) the event lasts DEFAULT_LENGTH.
    """
    if starts_at.tzinfo is None or (ends_at is not None and ends_at.tzinfo is None):
        raise ValueError("event times must be timezone-aware")
    start = starts_at.astimezone(zone)
    end = ends_at.astimezone(zone) if ends_at is not None and ends_at > starts_at else None
    if end is None:
        end = start + DEFAULT_LENGTH

    pinned = latitude is not None and longitude is not None
    location = place or None
    if location is None and pinned:
        location = f"{latitude}, {longitude}"

    event = Event.new(
        uid=event_uid(event_id, domain),
        sequence=sequence,
        stamp=datetime.now(UTC),
        start=start,
        end=end,
        summary=title,
        location=location,
        description=description or None,
    )
    if pinned:
        event.add("geo", (latitude, longitude))

    calendar = Calendar.new(prodid=PRODID, method="PUBLISH", subcomponents=[event])
    # Calendar.new gives the file a random UID of its own (RFC 7986); RFC 5545 clients do not
    # expect one, and the event's UID is the one that matters.
    calendar.pop("UID", None)
    calendar.add_missing_timezones(
        first_date=(start - _TIMEZONE_MARGIN).date(), last_date=(end + _TIMEZONE_MARGIN).date()
    )
    return calendar.to_ical()
