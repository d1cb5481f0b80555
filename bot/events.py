"""Community events: created and announced by officers, answered by residents, reminded on
time. Every reminder is an `event_jobs` row; a job is claimed in the transaction that fans out
its messages, so a restart or a second wake-up never sends it twice."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from bot import callbacks, content
from bot.broadcasts import recipients
from bot.config import SUPPORTED_LANGUAGES, Settings, parse_offsets
from bot.event_time import format_when
from bot.i18n import N_, plain, translate
from storage import Store, Tx
from storage.events import NewEvent
from storage.models import Event, RsvpCounts
from storage.outbox import PRIORITY_BULK, PRIORITY_NOTICE, NewDelivery
from storage.payload import Payload

log = logging.getLogger(__name__)

DEFAULT_LENGTH = timedelta(hours=2)
ANSWERS = ("going", "maybe", "no")
ANSWER_LABELS = {
    "going": N_("events.answer_going"),
    "maybe": N_("events.answer_maybe"),
    "no": N_("events.answer_no"),
}


def event_html(event: Event, language: str, zone: ZoneInfo) -> str:
    """How residents (and officers) see an event; every user-typed value escaped."""
    lines = [f"📅 <b>{html.escape(event.title, quote=False)}</b>"]
    when = format_when(event.starts_at, zone, language)
    if event.ends_at:
        when += " – " + format_when(event.ends_at, zone, language).split(", ")[-1]
    lines.append(translate(language, "events.when", when=when))
    if event.place:
        lines.append(translate(language, "events.where", place=event.place))
    elif event.has_pin:
        lines.append(translate(language, "events.where_pin"))
    if event.capacity:
        lines.append(translate(language, "events.capacity", capacity=event.capacity))
    if event.status == "cancelled":
        lines.insert(0, translate(language, "events.cancelled_tag"))
    text = "\n".join(lines)
    if event.description:
        text += "\n\n" + html.escape(event.description, quote=False)
    return text


def rsvp_buttons(
    event: Event, language: str, current: str | None = None
) -> list[list[tuple[str, str]]]:
    """Going / Maybe / Can't go (the current answer ticked) and Add to calendar."""

    def label(answer: str) -> str:
        text = plain(language, ANSWER_LABELS[answer])
        return ("✓ " + text) if answer == current else text

    return [
        [
            (label(answer), callbacks.RSVP.build(callbacks.ChoiceRef(answer, event.id)))
            for answer in ANSWERS
        ],
        [(plain(language, "events.add_to_calendar"), f"ev:ics:{event.id}")],
    ]


def lead_text(minutes: int) -> str:
    """24 h, 1 h, 90 min, 2 d: how long before the start, language-neutral."""
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} d" if minutes >= 48 * 60 else f"{minutes // 60} h"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def _all_languages(key: str) -> dict[str, str]:
    return {lang: translate(lang, key) for lang in SUPPORTED_LANGUAGES}


async def _schedule_jobs(tx: Tx, event: Event, settings: Settings) -> None:
    """One reminder per lead time and one feedback question after the end. A lead time that
    has already passed when the event is created (or moved) is recorded as skipped."""
    now = tx.clock.now()
    for lead in parse_offsets(settings.event_reminder_offsets):
        due = event.starts_at - lead
        minutes = int(lead.total_seconds() // 60)
        await tx.events.add_job(
            event.id, "reminder", minutes, due, "pending" if due > now else "skipped"
        )
    end = event.ends_at or event.starts_at + DEFAULT_LENGTH
    await tx.events.add_job(event.id, "feedback", 0, end)


def draft_view(new: NewEvent) -> Event:
    """An event not stored yet, for the officer's preview."""
    return Event(
        id=0,
        title=new.title,
        starts_at=new.starts_at,
        ends_at=new.ends_at,
        place=new.place,
        latitude=new.latitude,
        longitude=new.longitude,
        description=new.description,
        capacity=new.capacity,
        status="draft",
        sequence=0,
    )


async def create(store: Store, settings: Settings, new: NewEvent) -> Event:
    async with store.transaction() as tx:
        event = await tx.events.insert(new)
        await _schedule_jobs(tx, event, settings)
        await tx.audit("event.create", actor_id=new.created_by, tip_id=None, detail=new.title)
    return event


async def get(store: Store, event_id: int) -> Event | None:
    async with store.read() as tx:
        return await tx.events.get(event_id)


async def announce(
    store: Store, settings: Settings, event_id: int, *, officer_id: int | None, bot_username: str
) -> int | None:
    """Announce to residents subscribed to events and approved groups, once per event time
    (an edited time may be announced again). Returns the recipient count, None if refused."""
    zone = settings.zone
    async with store.transaction() as tx:
        event = await tx.events.get(event_id)
        if event is None or event.status == "cancelled" or event.starts_at <= tx.clock.now():
            return None
        key = f"event:{event.id}:{event.sequence}"
        broadcast = await tx.broadcasts.create(
            key, "event", created_by=officer_id, text=event.title
        )
        if broadcast is None:
            return 0
        await tx.events.set_status(event.id, "announced")
        event = await tx.events.get(event.id)
        assert event is not None
        targets = await recipients(tx, "events")
        texts = {lang: event_html(event, lang, zone) for lang in SUPPORTED_LANGUAGES}
        for target in targets:
            lang = target.language
            if target.chat_id > 0:
                buttons = rsvp_buttons(event, lang)
            else:  # in a group, answers are given in private
                link = f"https://t.me/{bot_username}?start=event-{event.id}"
                buttons = [[(plain(lang, "events.answer_privately"), link)]]
            header = translate(lang, "events.announcement_header")
            await tx.outbox.enqueue(
                NewDelivery(
                    kind="broadcast",
                    chat_id=target.chat_id,
                    payload=Payload((content.text(header + "\n" + texts[lang], buttons),)),
                    priority=PRIORITY_BULK,
                    dedupe_key=f"broadcast:{broadcast.id}:{target.chat_id}",
                    broadcast_id=broadcast.id,
                )
            )
        await tx.broadcasts.set_recipients(broadcast.id, len(targets))
        await tx.audit("event.announce", actor_id=officer_id, tip_id=None, detail=str(event.id))
    return len(targets)


class Rsvp(Enum):
    SAVED = "saved"
    FULL = "full"
    GONE = "gone"


async def answer(store: Store, event_id: int, user_id: int, choice: str) -> Rsvp:
    """Going / Maybe / Can't go; a full event refuses a new Going (Maybe stays open)."""
    async with store.transaction() as tx:
        event = await tx.events.get(event_id)
        if event is None or event.status != "announced" or event.starts_at <= tx.clock.now():
            return Rsvp.GONE
        if choice == "going" and event.capacity:
            current = await tx.events.answer_of(event_id, user_id)
            counts = await tx.events.counts(event_id)
            if current != "going" and counts.going >= event.capacity:
                return Rsvp.FULL
        await tx.events.answer(event_id, user_id, choice)
    return Rsvp.SAVED


async def _tell_attendees(
    tx: Tx,
    event: Event,
    settings: Settings,
    headline: dict[str, str],
    kind: str,
    tag: str,
    *,
    pin: bool = False,
) -> int:
    """A message to everyone who answered Going or Maybe, each in their language; `tag`
    makes it once per person (the outbox refuses a second row with the same key)."""
    people = await tx.events.attendees(event.id, ("going", "maybe"))
    for user_id, lang in people:
        text = headline[lang] + "\n" + event_html(event, lang, settings.zone)
        contents: list[content.Content] = [content.text(text)]
        if pin and event.has_pin:
            contents.append(
                {"type": "location", "latitude": event.latitude, "longitude": event.longitude}
            )
        await tx.outbox.enqueue(
            NewDelivery(
                kind=kind,
                chat_id=user_id,
                payload=Payload(tuple(contents)),
                priority=PRIORITY_NOTICE,
                dedupe_key=f"{tag}:{user_id}",
            )
        )
    return len(people)


async def move(
    store: Store,
    settings: Settings,
    event_id: int,
    starts_at: datetime,
    ends_at: datetime | None,
    *,
    officer_id: int,
) -> Event | None:
    """A new time: reminders move with it, attendees are told."""
    async with store.transaction() as tx:
        event = await tx.events.get(event_id)
        if event is None or event.status == "cancelled":
            return None
        if ends_at is None and event.ends_at is not None:
            ends_at = starts_at + (event.ends_at - event.starts_at)
        await tx.events.move(event_id, starts_at, ends_at)
        await tx.events.cancel_jobs(event_id)
        moved = await tx.events.get(event_id)
        assert moved is not None
        await _schedule_jobs(tx, moved, settings)
        await _tell_attendees(
            tx,
            moved,
            settings,
            _all_languages("events.moved"),
            "event_moved",
            f"event_moved:{moved.id}:{moved.sequence}",
        )
        await tx.audit("event.move", actor_id=officer_id, tip_id=None, detail=str(event_id))
    return moved


async def cancel(
    store: Store, settings: Settings, event_id: int, *, officer_id: int
) -> Event | None:
    """Cancelled: no more reminders, and everyone who answered Going or Maybe is told."""
    async with store.transaction() as tx:
        event = await tx.events.get(event_id)
        if event is None or event.status == "cancelled":
            return None
        await tx.events.set_status(event_id, "cancelled")
        await tx.events.cancel_jobs(event_id)
        cancelled = await tx.events.get(event_id)
        assert cancelled is not None
        await _tell_attendees(
            tx,
            cancelled,
            settings,
            _all_languages("events.cancelled"),
            "event_cancelled",
            f"event_cancelled:{cancelled.id}",
        )
        await tx.audit("event.cancel", actor_id=officer_id, tip_id=None, detail=str(event_id))
    return cancelled


async def attendee_count(store: Store, event_id: int) -> int:
    """How many residents a cancellation would tell: those who answered Going or Maybe."""
    async with store.read() as tx:
        counts = await tx.events.counts(event_id)
    return counts.going + counts.maybe


async def officer_list(store: Store) -> list[tuple[Event, RsvpCounts]]:
    """Officers' /events: drafts and announced events from 30 days back, with their answers."""
    async with store.read() as tx:
        upcoming = await tx.events.upcoming(
            tx.clock.now() - timedelta(days=30), announced_only=False
        )
        return [(event, await tx.events.counts(event.id)) for event in upcoming]


async def upcoming_for(store: Store, user_id: int) -> list[tuple[Event, str | None]]:
    """Residents' /events: announced events still to come, with the resident's own answer."""
    async with store.read() as tx:
        upcoming = await tx.events.upcoming(tx.clock.now(), announced_only=True)
        return [(event, await tx.events.answer_of(event.id, user_id)) for event in upcoming]


@dataclass(frozen=True)
class JobRun:
    job_id: int
    kind: str
    sent_to: int


async def run_due(store: Store, settings: Settings) -> list[JobRun]:
    """Every job due now, each claimed once. A reminder whose event has started (the bot was
    down) is skipped: nobody wants "starts in 1 hour" after it began."""
    runs = []
    async with store.read() as tx:
        due = [job for job in await tx.events.pending_jobs() if job.due_at <= tx.clock.now()]
    for job in due:
        async with store.transaction() as tx:
            event = await tx.events.get(job.event_id)
            now = tx.clock.now()
            usable = event is not None and event.status == "announced"
            if job.kind == "reminder" and usable and event is not None and event.starts_at > now:
                if not await tx.events.claim_job(job.id, "done"):
                    continue
                lead = lead_text(job.lead_minutes)
                headline = {
                    lang: translate(lang, "events.reminder", lead=lead)
                    for lang in SUPPORTED_LANGUAGES
                }
                sent = await _tell_attendees(
                    tx,
                    event,
                    settings,
                    headline,
                    "event_reminder",
                    f"event_reminder:{job.id}",
                    pin=True,
                )
                runs.append(JobRun(job.id, job.kind, sent))
            elif job.kind == "feedback" and usable and event is not None:
                if not await tx.events.claim_job(job.id, "done"):
                    continue
                sent = await _ask_feedback(tx, event)
                runs.append(JobRun(job.id, job.kind, sent))
            else:
                await tx.events.claim_job(job.id, "skipped")
    return runs


async def _ask_feedback(tx: Tx, event: Event) -> int:
    people = await tx.events.attendees(event.id, ("going",))
    for user_id, lang in people:
        text = translate(lang, "events.feedback", title=event.title)
        buttons = [
            [(str(n), callbacks.RATE.build(callbacks.Rating(event.id, n))) for n in range(1, 6)]
        ]
        await tx.outbox.enqueue(
            NewDelivery(
                kind="event_feedback",
                chat_id=user_id,
                payload=Payload((content.text(text, buttons),)),
                priority=PRIORITY_NOTICE,
                dedupe_key=f"feedback:{event.id}:{user_id}",
            )
        )
    return len(people)


async def rate(store: Store, event_id: int, user_id: int, rating: int) -> bool:
    if not 1 <= rating <= 5:
        return False
    async with store.transaction() as tx:
        return await tx.events.rate(event_id, user_id, rating)


async def next_due(store: Store) -> list[datetime]:
    """When the pending jobs are due (to set APScheduler's alarms)."""
    async with store.read() as tx:
        return [job.due_at for job in await tx.events.pending_jobs()]
