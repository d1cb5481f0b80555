"""Frozen dataclasses returned by the repositories. No Telegram objects here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.payload import Payload

TOPICS = ("safety", "events", "alerts")
CLOSED = frozenset({"resolved", "spam"})  # tip statuses that end the desk's work


@dataclass(frozen=True)
class Resident:
    user_id: int
    language: str
    broadcast_opt_in: bool | None
    reachable: bool
    subscriptions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Advice:
    id: int
    key: str
    topic: str
    position: int
    titles: dict[str, str]
    bodies: dict[str, str]
    active: bool
    broadcast_count: int

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles["en"]

    def body(self, language: str) -> str:
        return self.bodies.get(language) or self.bodies["en"]


@dataclass(frozen=True)
class Broadcast:
    id: int
    key: str
    kind: str
    advice_id: int | None
    recipients: int
    report_message_id: int | None
    created_at: datetime
    text: str | None = None
    photo_file_id: str | None = None
    finished: bool = False


@dataclass(frozen=True)
class CommunityGroup:
    chat_id: int
    title: str
    status: str
    added_by_name: str | None
    language: str


@dataclass(frozen=True)
class MediaItem:
    """A file a resident attached, referred to by Telegram file id (re-sent as a copy)."""

    kind: str
    file_id: str


@dataclass(frozen=True)
class Tip:
    id: int
    resident_id: int | None
    category: str
    description: str
    latitude: float | None
    longitude: float | None
    place: str | None
    anonymous: bool
    reporter_name: str | None
    urgent: bool
    status: str
    language: str
    card_message_id: int | None
    created_at: datetime
    media: tuple[MediaItem, ...] = ()
    broadcast_id: int | None = None  # the alert this tip answers
    # The officer desk (officer chat only: names are officers' first names, never residents').
    status_by_id: int | None = None  # who set the current status
    status_by_name: str | None = None
    assignee_id: int | None = None
    assignee_name: str | None = None
    acknowledged_at: datetime | None = None
    first_answer_at: datetime | None = None
    resolved_at: datetime | None = None
    rating: int | None = None
    rating_comment: str | None = None
    duplicate_of: int | None = None  # an open tip this one looks like (bot/duplicates.py)
    duplicate_reason: str | None = None
    duplicate_status: str | None = None  # that tip's status now (the Merge button needs it)
    # Merged tips (bot/merge.py): one status and one thread with their group's primary.
    merged_into: int | None = None  # the primary this tip is merged into
    merged_by_name: str | None = None  # the officer who merged it (officer chat only)
    merged_tips: tuple[int, ...] = ()  # the tips merged into this one, when it is a primary
    # Why the tip has no resident any more: "erased" (/deleteme) or "retention" (bot/retention.py).
    detached: str | None = None
    # Its forum topic in the officer chat (bot/topics.py): thread id, state, name as last set.
    topic_id: int | None = None
    topic_state: str | None = None
    topic_name: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED

    @property
    def primary_id(self) -> int:
        """The tip whose card and status speak for this one's group (itself when unmerged)."""
        return self.merged_into if self.merged_into is not None else self.id

    @property
    def group_ids(self) -> tuple[int, ...]:
        """This tip and the tips merged into it (read on the primary)."""
        return (self.id, *self.merged_tips)

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class TipMessage:
    """One thing said on a tip after filing: a follow-up, an officer reply or an internal note."""

    id: int
    tip_id: int
    author: str
    officer_id: int | None
    kind: str
    text: str | None
    file_id: str | None
    latitude: float | None
    longitude: float | None
    source_chat_id: int | None  # None once the resident is detached (erasure, retention)
    source_message_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who (an officer's Telegram id, or None for the bot or a
    resident, whose identity is never kept here) did what, when."""

    id: int
    actor_id: int | None
    action: str
    tip_id: int | None
    detail: str
    created_at: datetime


@dataclass(frozen=True)
class ThreadLink:
    chat_id: int
    message_id: int
    tip_id: int
    role: str


@dataclass(frozen=True, slots=True)  # slots: a claim builds hundreds at a time
class OutboxRow:
    id: int
    kind: str
    chat_id: int
    lane: str
    priority: int
    payload: Payload | None  # None: unreadable by this version; the drainer fails the row
    tip_id: int | None
    status: str
    attempts: int
    not_before: float
    last_error: str | None
    message_ids: tuple[tuple[int, ...], ...] = field(default=())


@dataclass(frozen=True)
class Event:
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime | None
    place: str | None
    latitude: float | None
    longitude: float | None
    description: str | None
    capacity: int | None
    status: str
    sequence: int

    @property
    def has_pin(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class EventJob:
    id: int
    event_id: int
    kind: str
    lead_minutes: int
    due_at: datetime
    status: str


@dataclass(frozen=True)
class RsvpCounts:
    going: int = 0
    maybe: int = 0
    no: int = 0
    rating_average: float | None = None
    ratings: int = 0


@dataclass(frozen=True)
class Block:
    """A resident who may not reach officers. `resident_id` never leaves bot/: officers see
    the block only by the tip it came from."""

    resident_id: int
    tip_id: int | None
    reason: str | None
    officer_id: int
    created_at: datetime


@dataclass(frozen=True)
class Canned:
    """An officers' reply template, one text per language."""

    name: str
    texts: dict[str, str]

    def text(self, language: str) -> str:
        return self.texts.get(language) or self.texts["en"]


@dataclass(frozen=True)
class TipRecord:
    """A tip as a department's records keep it: what was reported and how it was handled, with
    nothing that identifies the resident (no resident id, no shared name, no chat or message
    ids) or the officers (no officer ids or names)."""

    id: int
    created_at: datetime
    category: str
    urgent: bool
    status: str
    acknowledged_at: datetime | None
    first_answer_at: datetime | None
    resolved_at: datetime | None
    rating: int | None
    place: str | None
    latitude: float | None
    longitude: float | None
    description: str
    media: int  # files attached when filing
    follow_ups: int  # what the resident added afterwards
