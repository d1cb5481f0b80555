"""The alarm service: the one owner of time. Every timed job rings here, nowhere else.

Each kind of timed work is an `Alarm` in `ALARMS`: a `due` function that says from storage
when it is next due, and a `run` function that does what is due (both plain functions in
bot.jobs). The service is created at start (after the library is loaded, before the outbox
drains), like the drainer: it asks every alarm when it is due, rings at once what is due, and
arms one PTB JobQueue job per alarm for the rest. It is then woken by every commit and asks
again, so a change in storage — an event created, moved or cancelled, a delivery report
opened — re-arms its alarm with nobody remembering to reschedule. A restart rebuilds
everything the same way, from storage.

Why PTB's JobQueue stays, and only as the clock: an asyncio timer like the drainer's would do
in a few lines, but the JobQueue is the project's scheduler, its jobs are visible
(`job_queue.get_jobs_by_name("weekly-safety-broadcast")`), and it starts and stops with the
application. A job does nothing but wake the service; what to run is read from storage then.
Delays are measured on the store's clock (the one tests move), so `armed(name)` says when an
alarm rings in the bot's time; a job's `next_t` is the JobQueue's wall clock. A burst of
commits is one check, at most one every CHECK_PACE seconds.

Guarantees kept from the jobs' own rules: a run is idempotent (the weekly broadcast's ISO-week
key, event jobs claimed in the transaction that queues their messages), so ringing twice or
after a restart never sends twice. The service adds: an alarm rings once per due time (a run
that leaves its due time unchanged is not repeated; one that raised is retried a minute later),
and an alarm with `every` rings at most that often (the delivery report's edits). Alarms whose
`catch_up` is set run once at start whether due or not: they decide what the downtime missed
(the weekly broadcast sends a run missed by less than BROADCAST_GRACE, logs one missed by more;
the officers' digest likewise with DIGEST_GRACE).

The report refresh edits a message in the officer chat, so the service holds the bot and hands
the job an `EditText` port (`telegram_editor`) instead of going through the outbox: a report
edit is cosmetic and superseded ten seconds later, so the outbox's durability buys nothing; in
its lanes the edit would wait behind queued cards and show stale numbers; and every edit row
would be two more commits waking the drainer and this service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackContext, ExtBot, Job, JobQueue

from bot import jobs
from bot.budget import not_modified
from bot.config import Settings
from bot.escalation import Mention, Mentions
from bot.jobs import EditText
from bot.tasks import cancel_and_wait
from storage import Store

log = logging.getLogger(__name__)

RETRY = timedelta(minutes=1)  # after a run that raised
# Tables no alarm's `due` reads: a commit that wrote only these does not wake the service.
UNWATCHED_TABLES = frozenset({"ptb_persistence", "inbox"})
# A burst of commits (a tip is several, a broadcast thousands) is one check, not one each: a
# check costs about a millisecond of the event loop, an alarm a tenth of a second late nothing.
CHECK_PACE = 0.1


@dataclass(frozen=True)
class AlarmContext:
    """What a job may use: storage, the configuration, and the one Telegram call a job makes."""

    store: Store
    settings: Settings
    edit: EditText
    mentions: Mentions  # who a ping mentions (asked of Telegram when a round rings)


@dataclass(frozen=True)
class Alarm:
    """One kind of timed work. `name` names its JobQueue job."""

    name: str
    due: Callable[[AlarmContext], Awaitable[datetime | None]]
    run: Callable[[AlarmContext], Awaitable[None]]
    every: timedelta | None = None  # at most once per `every`, counted from the last ring
    catch_up: bool = False  # at start, run once whether due or not


ALARMS: tuple[Alarm, ...] = (
    Alarm(
        "weekly-safety-broadcast",
        due=lambda c: jobs.weekly_due(c.store, c.settings),
        run=lambda c: jobs.run_weekly(c.store, c.settings),
        catch_up=True,
    ),
    Alarm(
        "event-job:next",
        due=lambda c: jobs.event_jobs_due(c.store),
        run=lambda c: jobs.run_event_jobs(c.store, c.settings),
    ),
    Alarm(
        "broadcast-reports",
        due=lambda c: jobs.reports_due(c.store),
        run=lambda c: jobs.refresh_reports(c.store, c.settings, c.edit),
        every=jobs.REPORT_INTERVAL,
    ),
    Alarm(
        "tip-escalation",
        due=lambda c: jobs.escalation_due(c.store, c.settings),
        run=lambda c: jobs.run_escalations(c.store, c.settings, c.mentions),
    ),
    Alarm(
        "stale-tips",
        due=lambda c: jobs.stale_due(c.store, c.settings),
        run=lambda c: jobs.run_stale_list(c.store, c.settings),
    ),
    Alarm(
        "retention",
        due=lambda c: jobs.retention_due(c.store, c.settings),
        run=lambda c: jobs.run_retention(c.store, c.settings),
    ),
    Alarm(
        "officer-digest",
        due=lambda c: jobs.digest_due(c.store, c.settings),
        run=lambda c: jobs.run_digest(c.store, c.settings),
        catch_up=True,
    ),
)


async def _nobody() -> list[Mention]:
    return []


def telegram_mentions(bot: ExtBot[Any], settings: Settings) -> Mentions:
    """`Mentions` over the Bot API: the ON_DUTY officers (named as the officer chat knows
    them), or else the officer chat's administrators, bots skipped. Telegram out of reach: the
    ping goes without mentions (it still reaches the chat) and the log says why."""

    async def mentions() -> list[Mention]:
        chat = settings.officer_chat_id
        found = []
        try:
            if settings.on_duty_ids:
                for user_id in settings.on_duty_ids:
                    try:
                        member = await bot.get_chat_member(chat, user_id)
                        found.append(Mention(user_id, member.user.full_name))
                    except BadRequest:  # not in the chat (any more): pinged by id all the same
                        found.append(Mention(user_id, str(user_id)))
            else:
                for admin in await bot.get_chat_administrators(chat):
                    if not admin.user.is_bot:
                        found.append(Mention(admin.user.id, admin.user.full_name))
        except TelegramError as error:
            log.warning("officers to ping could not be asked of Telegram: %s", error)
        return found

    return mentions


def telegram_editor(bot: ExtBot[Any]) -> EditText:
    """`EditText` over the Bot API: "message is not modified" counts as done, another 400 is
    logged and not retried, anything else (network, 5xx, 429) is tried at the next refresh."""

    async def edit(chat_id: int, message_id: int, text: str) -> bool:
        try:
            await bot.edit_message_text(text, chat_id, message_id)
        except BadRequest as error:
            if not not_modified(error):
                log.warning("message %s in chat %s not edited: %s", message_id, chat_id, error)
        except TelegramError as error:
            log.warning("message %s in chat %s not edited yet: %s", message_id, chat_id, error)
            return False
        return True

    return edit


@dataclass
class _State:
    """What the service remembers of one alarm (in memory: storage is the truth)."""

    last_ring: datetime
    rang_for: datetime | None = None
    retry_at: datetime | None = None
    armed_for: datetime | None = None
    job: Job[Any] | None = None


class AlarmClock:
    """Rings what is due, arms the JobQueue for the rest; woken by commits and by its jobs."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        job_queue: JobQueue[Any],
        edit: EditText,
        alarms: Sequence[Alarm] = ALARMS,
        mentions: Mentions = _nobody,
    ) -> None:
        self.store = store
        self.job_queue = job_queue
        self.alarms = tuple(alarms)
        self.context = AlarmContext(store, settings, edit, mentions)
        now = store.clock.now()
        self._states = {alarm.name: _State(last_ring=now) for alarm in self.alarms}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._busy = False
        self._task: asyncio.Task[None] | None = None
        # Any commit may move a due time, but no alarm reads a conversation's state: the
        # persistence flush after each report step is no news.
        store.on_commit(self._wake, ignored=UNWATCHED_TABLES)

    async def start(self) -> None:
        """Catch up what the downtime missed, ring what is due, arm the rest, then follow
        every commit."""
        async with self._lock:
            for alarm in self.alarms:
                if alarm.catch_up:
                    await self._run(alarm)
        await self.check()
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="alarms")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for state in self._states.values():
            _remove(state.job)
            state.job = state.armed_for = None

    def armed(self, name: str) -> datetime | None:
        """When alarm `name` rings next (store time), or None when it has nothing to do."""
        return self._states[name].armed_for

    async def check(self) -> None:
        """Ring every alarm due at the store's clock; arm the JobQueue for the others."""
        async with self._lock:
            for alarm in self.alarms:
                at = await self._next(alarm)
                if at is not None and at <= self.store.clock.now():
                    self._arm(alarm, None)
                    await self._ring(alarm, at)
                    at = await self._next(alarm)
                self._arm(alarm, at)

    async def wait_idle(self) -> None:
        """Return when no check is running or waiting (tests, after a commit); a check waiting
        for its pace runs at once."""
        while True:
            if self._task is None and not self._lock.locked():
                return  # not started (a replica that does not lead): nothing will ring here
            if not (self._busy or self._wake.is_set() or self._lock.locked()):
                return
            self._hurry.set()
            await asyncio.sleep(0.002)

    async def _follow(self) -> None:
        while True:
            await self._wake.wait()
            self._busy = True
            self._wake.clear()
            try:
                await self.check()
            except Exception:
                log.exception("alarms could not be checked; trying again in %s", RETRY)
                asyncio.get_running_loop().call_later(RETRY.total_seconds(), self._wake.set)
            finally:
                self._busy = False
            self._hurry.clear()
            with contextlib.suppress(TimeoutError):  # not wait_for: see Drainer._run
                async with asyncio.timeout(CHECK_PACE):
                    await self._hurry.wait()

    async def _next(self, alarm: Alarm) -> datetime | None:
        """When `alarm` should ring: its due time, paced by `every` and a retry, and never
        twice for the same due time."""
        due = await alarm.due(self.context)
        if due is None:
            return None
        state = self._states[alarm.name]
        if alarm.every is not None:
            due = max(due, state.last_ring) + alarm.every
        if state.retry_at is not None:
            due = max(due, state.retry_at)
        return None if due == state.rang_for else due

    async def _ring(self, alarm: Alarm, at: datetime) -> None:
        state = self._states[alarm.name]
        state.last_ring = self.store.clock.now()
        if await self._run(alarm):
            state.rang_for, state.retry_at = at, None
        else:
            state.rang_for, state.retry_at = None, state.last_ring + RETRY

    async def _run(self, alarm: Alarm) -> bool:
        try:
            await alarm.run(self.context)
        except Exception:
            log.exception("alarm %s failed; it rings again in %s", alarm.name, RETRY)
            return False
        return True

    def _arm(self, alarm: Alarm, at: datetime | None) -> None:
        """One JobQueue job per alarm, replaced only when its time changes."""
        state = self._states[alarm.name]
        if at == state.armed_for and (at is None or state.job is not None):
            return
        _remove(state.job)
        state.job, state.armed_for = None, at
        if at is not None:
            delay = max(0.0, (at - self.store.clock.now()).total_seconds())
            state.job = self.job_queue.run_once(
                self._rang, delay, name=alarm.name, job_kwargs={"misfire_grace_time": None}
            )

    async def _rang(self, context: CallbackContext[Any, Any, Any, Any]) -> None:
        """A job's time came: it is spent; the service looks at storage again."""
        for state in self._states.values():
            if state.job is not None and state.job is context.job:
                state.job, state.armed_for = None, None
        self._wake.set()


def _remove(job: Job[Any] | None) -> None:
    """Unschedule a job; one that just rang (or whose JobQueue stopped) is gone already."""
    if job is not None:
        with contextlib.suppress(JobLookupError):
            job.schedule_removal()
