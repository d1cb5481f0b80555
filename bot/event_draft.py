"""An event being written by an officer (/newevent), step by step, before it is stored.

It lives in the officer's session (`Session.event`, bot/session.py) between steps, persisted
as JSON (the same keys as before this class existed, times as ISO strings), so a restart
mid-wizard keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.events import draft_view
from storage.events import NewEvent
from storage.models import Event


@dataclass
class EventDraft:
    title: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    description: str | None = None
    capacity: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "title": self.title,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "place": self.place,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "description": self.description,
            "capacity": self.capacity,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventDraft:
        def moment(key: str) -> datetime | None:
            raw = data.get(key)
            return datetime.fromisoformat(raw) if isinstance(raw, str) and raw else None

        return cls(
            title=data.get("title"),
            start=moment("start"),
            end=moment("end"),
            place=data.get("place"),
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            description=data.get("description"),
            capacity=data.get("capacity"),
        )

    def to_new_event(self, officer_id: int) -> NewEvent:
        """What to store; only called once the wizard has a title and a start."""
        assert self.title is not None and self.start is not None
        return NewEvent(
            title=self.title,
            starts_at=self.start,
            ends_at=self.end,
            place=self.place,
            latitude=self.latitude,
            longitude=self.longitude,
            description=self.description,
            capacity=self.capacity,
            created_by=officer_id,
        )

    def preview(self) -> Event:
        """The event as it would look, for the officer's preview."""
        return draft_view(self.to_new_event(0))
