"""The outbox drainer: sends what storage says must be sent, and records that it was.

Each outbox row is one delivery (one or a few Telegram calls), described by a typed
`storage.payload.Payload` that `bot/` builds and storage keeps as JSON: `contents` (what to
send, see bot.content), `reply_to` or `reply_to_card` (the message, or the tip card, it answers),
`link` (the tip thread the sent messages join), `set_card` (the first one becomes the tip's
card), and `FollowUp`s to enqueue next: `then` after success (e.g. a card's media threaded
under it, `reply_to_parent`), `on_unreachable` when the recipient blocked the bot, `on_failed`
when it finally failed (`append_reason` adds why). A follow-up goes to the parent's chat, lane
and priority unless it says otherwise.
Rows of one lane go in order, one at a time; different lanes go in parallel, most urgent first.
Due rows are claimed in batches (rounds of the sends in flight), so a finished send is
followed at once, without a database round trip; bot/outcomes.py writes down what happened,
sends that finish together in one group commit.

Errors are handled as Telegram words them: 429 pauses every send for retry_after; 403 marks a
resident unreachable; timeouts, network errors and 5xx retry with exponential back-off up to a
limit; other 400s fail at once. Everything ends recorded on the row, nothing is dropped silently:
a row whose payload this version cannot read fails with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import ExtBot

from bot.budget import SendOptions, not_modified, seconds
from bot.content import Content
from bot.forum import TOPIC_STEP
from bot.forum_sending import ForumTopics, Place, TopicGone, topic_gone
from bot.outcomes import Outcomes
from bot.replicas import Replica
from bot.sending import markup, send_content
from bot.surge import SurgeGate, waits_for_room
from bot.tasks import cancel_and_wait
from storage import DATABASE_ERRORS, Store, Tx
from storage.models import OutboxRow
from storage.outbox import PRIORITY_TIP
from storage.payload import Payload

log = logging.getLogger(__name__)

# A reaction (👍 delivered) is cosmetic: tried twice, never more, and in a lane of its own.
COSMETIC_ATTEMPTS = 2
# Rows read per claim, in sends in flight. Alone, four: each claim reads again the rows of the
# last one not started yet, and fewer, larger claims cost less (a broadcast with limits off:
# 2,330 → 2,420/s; eight: 2,350/s, a long read holds the interpreter). With replicas, two: a
# replica that dies holds its claimed rows until their lease runs out.
CLAIMED_ALONE = 4
CLAIMED_SHARED = 2
# Seconds between claims while claimed rows are still waiting (under Telegram's pace a batch
# lasts seconds): a lane whose head was recorded meanwhile gets its next row on time.
CLAIM_AGAIN = 0.5
# Seconds before a claim that failed (a database locked, gone or deadlocked) is tried again.
CLAIM_RETRY = 1.0
# A commit that wrote only these (a conversation's state, updates handled) has nothing new for
# the drainer.
# Any other write wakes it: waking only on outbox writes starves a surge-held card that waits
# for a claim (see README, "Measured").
UNWATCHED_TABLES = frozenset({"ptb_persistence", "inbox"})


# A card edit renders the tip's card as it is when sent: (card message id, its content), or
# None when the tip has no card yet (the card, when it is sent, shows the current state).
CardRenderer = Callable[[int], Awaitable[tuple[int, Content] | None]]


async def _due(
    tx: Tx, *, now: float, ask: int, busy: set[str]
) -> tuple[list[OutboxRow], float | None]:
    """Up to `ask` due lane heads, most urgent first, and when the next backed-off row is due
    (asked only after a short batch: then no more rows are due now). One round trip."""
    rows = await tx.outbox.due(now, ask, busy)
    return rows, await tx.outbox.next_wakeup(now) if len(rows) < ask else None


def _cosmetic(payload: Payload) -> bool:
    return all(content["type"] == "reaction" for content in payload.contents)


class Unreadable(Exception):
    """The row's payload could not be read (written by a newer or broken version)."""


class Drainer:
    """Sends due outbox rows until stopped; woken by commits (but a conversation's state alone)
    and by back-off timers."""

    def __init__(
        self,
        store: Store,
        bot: ExtBot[Any],
        *,
        surge: SurgeGate | None = None,
        render_card: CardRenderer | None = None,
        topics: ForumTopics | None = None,
        concurrency: int = 8,
        retry_base: float = 1.0,
        max_attempts: int = 8,
        replica: Replica | None = None,
        officer_chat_id: int | None = None,
    ) -> None:
        self.store = store
        # Several replicas (bot/replicas.py): rows are claimed in the database with a lease,
        # and the officer chat's queue is the leader's alone.
        self.replica = replica if replica is not None and replica.shared else None
        self.officer_chat_id = officer_chat_id
        self.bot = bot
        self.surge = surge
        self.render_card = render_card
        self.topics = topics
        self.concurrency = concurrency
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self.claim_retry = CLAIM_RETRY
        self._wake = asyncio.Event()
        # Rows sending or waiting for their record: a row holds its slot (and its lane) until
        # the record is committed, so a crash can send again at most `concurrency` rows.
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._busy_lanes: set[str] = set()
        self._paused_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self._claimed: deque[OutboxRow] = deque()  # due lane heads read, not started yet
        self._claimed_at = -math.inf
        self._refill = False  # rows started or finished since the last claim: claim again
        self._started_since_claim: set[int] = set()
        self._stopping = False
        # Set by every commit that wrote something but a group commit of plain sends (or a
        # conversation's state alone): something new may be due.
        self._fresh = asyncio.Event()
        self.outcomes = Outcomes(store, self._fresh)
        store.on_commit(self._wake, ignored=UNWATCHED_TABLES)
        store.on_commit(self._fresh, ignored=UNWATCHED_TABLES)

    def _now(self) -> float:
        return self.store.clock.now().timestamp()

    def wake(self) -> None:
        """Look at the outbox again now (the clock was moved)."""
        self._refill = True
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._fresh.set()
            self._task = asyncio.create_task(self._run(), name="outbox-drainer")

    def holding(self) -> list[int]:
        """The rows this drainer claimed and still means to send (their leases are renewed)."""
        return [row.id for row in self._claimed] + list(self._inflight)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking rows; give sends in flight `grace` seconds, then cancel them: a cancelled
        row stays pending and is sent after the next start (or by another replica)."""
        self._stopping = True
        unsent, self._claimed = [row.id for row in self._claimed], deque()
        if self.replica is not None and unsent:
            with contextlib.suppress(*DATABASE_ERRORS):
                async with self.store.autocommit() as tx:
                    await tx.outbox.release(self.replica.name, unsent)
        await cancel_and_wait(self._task)
        self._task = None
        if self._inflight:
            tasks = list(self._inflight.values())
            pending = set(tasks)
            if grace > 0:
                _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Return when nothing is in flight and nothing is due now (tests, shutdown)."""
        while True:
            if not self._inflight and self._now() >= self._paused_until:
                held = self.surge.held_lanes() if self.surge is not None else set()
                mine = self.replica.name if self.replica is not None else None
                async with self.store.read() as tx:
                    due = await tx.outbox.due(self._now(), 1, held, claimable_by=mine)
                if not due:
                    return
            await asyncio.sleep(0.005)

    async def _run(self) -> None:
        """Claim due rows when the claimed ones run low or something new was committed; the
        rows themselves are started by `_fill`, here and whenever a send finishes."""
        while True:
            self._wake.clear()
            now = self._now()
            timeout = 30.0
            if now < self._paused_until:
                timeout = self._paused_until - now
            elif self._fresh.is_set() or self._refill or self._claim_is_old():
                try:
                    timeout = min(timeout, await self._claim(now))
                except Exception:  # a database refusing one claim must not stop every send
                    log.exception("outbox claim failed; looking again in %.1fs", self.claim_retry)
                    timeout, self._refill = self.claim_retry, True
            self._fill()
            if self._claimed:
                # A lane whose head was recorded meanwhile may have its next row due by now.
                timeout = min(timeout, self._claimed_at + CLAIM_AGAIN - time.monotonic())
            # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation that
            # arrives as the event is set (a commit during stop()), and stop() then waits forever.
            try:
                async with asyncio.timeout(max(timeout, 0.0)):
                    await self._wake.wait()
            except TimeoutError:
                self._refill = True  # a backed-off row, a held chat or the batch's age is due

    def _claim_is_old(self) -> bool:
        return bool(self._claimed) and time.monotonic() >= self._claimed_at + CLAIM_AGAIN

    async def _claim(self, now: float) -> float:
        """Read the most urgent due lane heads into `_claimed` (a batch: a few rounds of the
        sends in flight), so a finished send is followed at once, without waiting for the
        database while the recorder holds it. Returns how long the drainer may sleep."""
        self._fresh.clear()
        self._refill = False
        self._claimed_at = time.monotonic()
        self._started_since_claim.clear()
        # A surge may list waiting cards while we read (bot/surge.py): a card is started from
        # the claim that admitted it, never from an older one.
        self._claimed = deque(row for row in self._claimed if not waits_for_room(row))
        busy = set(self._busy_lanes)
        if self.surge is not None:
            busy |= self.surge.held_lanes(self._busy_lanes)
        want = (CLAIMED_SHARED if self.replica is not None else CLAIMED_ALONE) * self.concurrency
        # Rows of the current batch may start (and so turn up in this one) while we wait for
        # the store: read as many more.
        ask = want + len(self._claimed)
        timeout = 30.0
        if self.replica is not None:
            # Other replicas' leases run out unannounced: look again within a tick.
            timeout = self.replica.tick
            skip = None if self.replica.leader else self.officer_chat_id
            async with self.store.autocommit() as tx:  # one statement; wakes nobody
                rows = await tx.outbox.claim(self.replica.lease(), now, ask, busy, skip_chat=skip)
            async with self.store.read() as tx:
                wakeup = await tx.outbox.next_wakeup(now) if len(rows) < ask else None
        else:
            rows, wakeup = await self.store.run_read(partial(_due, now=now, ask=ask, busy=busy))
        if wakeup is not None:
            timeout = min(timeout, wakeup - now)
        if self.surge is not None:
            rows = await self.surge.admit(rows, now, busy)
            timeout = min(timeout, self.surge.next_look())
        # Rows started from the previous batch while we read may be in this one: never twice.
        rows = [
            row
            for row in rows
            if row.lane not in self._busy_lanes and row.id not in self._started_since_claim
        ]
        self._claimed = deque(rows)
        return timeout

    def _fill(self) -> None:
        """Start claimed rows while sending slots are free (no database on this path)."""
        if self._stopping or self._now() < self._paused_until:
            return
        started = False
        while self._claimed and len(self._inflight) < self.concurrency:
            row = self._claimed.popleft()
            if row.lane not in self._busy_lanes:
                self._start(row)
                started = True
        if started and len(self._claimed) < self.concurrency:
            self._refill = True  # claim the next batch before this one runs out
            self._wake.set()

    def _start(self, row: OutboxRow) -> None:
        self._busy_lanes.add(row.lane)
        self._started_since_claim.add(row.id)
        task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
        self._inflight[row.id] = task
        task.add_done_callback(functools.partial(self._done, row))

    def _done(self, row: OutboxRow, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(row.id, None)
        self._busy_lanes.discard(row.lane)
        if len(self._claimed) < self.concurrency:
            self._refill = True  # the lane's next row may be due now
        self._wake.set()
        self._fill()

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            if row.payload is None:
                raise Unreadable
            parts = await self._send(row, row.payload)
        except RetryAfter as error:
            wait = seconds(error.retry_after)
            log.warning("429 on outbox row %s: pausing all sends for %.1fs", row.id, wait)
            self._paused_until = max(self._paused_until, self._now() + wait)
            await self.outcomes.retry(row, self._now() + wait, str(error), False)
        except Forbidden as error:
            await self.outcomes.unreachable(row, str(error))
        except ChatMigrated as error:
            await self.outcomes.migrated(row, error.new_chat_id)
        except TopicGone as gone:
            assert self.topics is not None  # only its calls raise it
            await self.topics.recreate(row, gone)
        except BadRequest as error:
            if row.chat_id > 0 and "chat not found" in str(error).lower():
                await self.outcomes.unreachable(row, str(error))
            else:
                await self.outcomes.failed(row, str(error))
        except NetworkError as error:  # timeouts, connection errors and 5xx, after short retries
            cosmetic = row.payload is not None and _cosmetic(row.payload)
            if row.attempts + 1 >= (COSMETIC_ATTEMPTS if cosmetic else self.max_attempts):
                await self.outcomes.failed(row, str(error))
            else:
                delay = min(self.retry_base * 2**row.attempts, 300.0)
                log.info("outbox row %s: %s; retry in %.1fs", row.id, error, delay)
                await self.outcomes.retry(row, self._now() + delay, str(error), True)
        except Unreadable:
            await self.outcomes.failed(row, "unreadable payload")
        except Exception:
            log.exception("outbox row %s could not be sent", row.id)
            await self.outcomes.failed(row, "internal error")
        else:
            try:
                await self.outcomes.sent(row, parts)
            except Exception:
                log.exception("outbox row %s was sent but could not be recorded", row.id)

    async def _send(self, row: OutboxRow, payload: Payload) -> list[list[int]]:
        """Send the row's contents, skipping parts a previous attempt already delivered."""
        reply_to = payload.reply_to
        if payload.reply_to_card:
            async with self.store.read() as tx:
                tip = await tx.tips.get(payload.reply_to_card)
            reply_to = tip.card_message_id if tip else None
        contents = payload.contents
        parts: list[list[int]] = [list(part) for part in row.message_ids]
        place = await self.topics.place(row, payload) if self.topics is not None else None
        for content in contents[len(parts) :]:
            options = SendOptions(priority=row.priority, durable=True)
            part: list[int] = []
            if content["type"] == "card_edit":
                await self._edit_card(row, content["tip_id"], options)
            elif content["type"] == TOPIC_STEP:
                place = await self._open_topic(content["tip_id"], options)
            else:
                part = await self._send_one(row, content, reply_to, options, place)
            parts.append(part)
            if len(contents) > 1 and len(parts) < len(contents):
                await self.outcomes.progress(row, parts)
        return parts

    async def _open_topic(self, tip_id: int, options: SendOptions) -> Place | None:
        """A card's first step in a forum: the tip's topic, opened once (bot/forum.py)."""
        thread = await self.topics.open(tip_id, options) if self.topics is not None else None
        return Place(tip_id, thread) if thread is not None else None

    async def _send_one(
        self,
        row: OutboxRow,
        content: Content,
        reply_to: int | None,
        options: SendOptions,
        place: Place | None,
    ) -> list[int]:
        """One content, into the tip's topic when it has one; a deleted topic is said so."""
        thread = place.thread if place is not None else None
        try:
            return await send_content(self.bot, row.chat_id, content, reply_to, options, thread)
        except BadRequest as error:
            if place is not None and topic_gone(error):
                raise TopicGone(place.tip_id, place.thread) from error
            raise

    async def _edit_card(self, row: OutboxRow, tip_id: int, options: SendOptions) -> None:
        """Edit a tip's card to its state now, then its forum topic's name and state. A later
        edit waiting in the lane makes this one pointless (a burst of presses is one edit); an
        edit to identical content is harmless. The card first: it is free and officers are
        looking at it; a topic change spends the group's budget, at a card's priority."""
        async with self.store.read() as tx:
            superseded = await tx.outbox.superseded(row)
        if superseded:
            return
        card = None if self.render_card is None else await self.render_card(tip_id)
        refused: BadRequest | None = None
        if card is not None:
            message_id, body = card
            try:
                await self.bot.edit_message_text(
                    body["html"],
                    chat_id=row.chat_id,
                    message_id=message_id,
                    reply_markup=markup(body),
                    rate_limit_args=options,
                )
            except BadRequest as error:
                if not not_modified(error):
                    refused = error  # the card deleted with its topic? the topic tells
        if self.topics is not None:
            later = SendOptions(priority=max(options.priority, PRIORITY_TIP), durable=True)
            await self.topics.sync(tip_id, later)
        if refused is not None:
            raise refused
