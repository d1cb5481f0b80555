"""Telegram's flood limits shared by every replica on one PostgreSQL database (issue 11).

Telegram counts per bot, not per process: three replicas each pacing themselves at 30 a second
would send 90. With SHARED_FLOOD_LIMITS on, bot/budget.py still serves this process's waiting
sends by priority (and keeps each private chat's second); then each message is booked here, in
the database (storage/flood.py), on the database's clock, so replicas' clocks never matter:

- **The overall paces** (30 a second, and 1,000 for paid broadcasts) are one row each: a booking
  is one statement that answers "your slot starts at T"; the send waits T − the database's now.
  A process books one pace at a time, most urgent send first; at 1,000 a second one booking
  covers a block of waiting sends (BLOCK_SECONDS of the pace), so the database is asked about
  fifty times a second, not a thousand.
- **People before queued work, across replicas.** A send above PEOPLE (the outbox's cards,
  broadcasts) may only book a slot starting within HORIZON of now, else it waits and asks again
  when the pace has come that close; people always take the next slot. So an officer's answer
  on one replica waits at most HORIZON behind another replica's broadcast, never the broadcast.
- **A group's minute** is shared too, with GroupWindow's reserves (people may use the whole
  minute, urgent cards leave 2, other cards 4). The window's sends come back with each booking,
  so this process's own view of the group (what SurgeGate asks) follows the other replicas'.
- **Private chats are not shared.** Their ~1 a second is per chat, and a resident's
  conversation and a broadcast to them meet on two replicas rarely; the cost of a collision is
  one 429 on that one chat, which the retry policy waits out (an answer) or the outbox
  reschedules (a broadcast). Sharing it would be a second database booking for every private
  message: the whole broadcast, to avoid a rare second's wait.
- **The database away**: sends go at this process's own even pace and a warning is logged once
  (Telegram answers any excess with a 429, honoured as always).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.flood_windows import (
    GROUP_WINDOW_MARGIN,
    PACE_TICK,
    PEOPLE,
    GroupWindow,
)
from bot.tasks import cancel_and_wait
from storage import Store
from storage.flood import PaceBooking

log = logging.getLogger(__name__)

# How far ahead (seconds) queued work may book an overall pace: what a person's answer may wait
# behind another replica's broadcast (7 messages at 30 a second).
HORIZON = 0.25
# One booking covers this much of a pace: 1 message at 30 a second, 20 at 1,000 a second.
BLOCK_SECONDS = 0.02
# The share of the limit booked: a point below one process's pace (bot/flood_windows.py), which
# also counts its sends until their answers; across processes slots are all we have, so this
# margin absorbs what transit adds (30 slots span 1.03 s: 30 ms of leeway in any second).
SHARE = 0.97
# A slot let go later than this after its start is booked again (at most REBOOKINGS times).
LATE = 0.010
REBOOKINGS = 2
RETRY_FLOOR = 0.002  # seconds: the shortest wait before asking the database again
GROUP_PERIOD = 60.0 + GROUP_WINDOW_MARGIN


@dataclass(order=True)
class _Ask:
    priority: int
    seq: int
    count: int = field(compare=False)
    slot: asyncio.Future[float] = field(compare=False)  # when it may go (the loop's time)


class SharedPace:
    """One overall pace booked in the database; this process's asks in priority order, one
    booking at a time (no herd of waiters polling the database)."""

    def __init__(self, store: Store, key: str, per_second: float) -> None:
        self.store = store
        self.key = key
        self.gap = 1 / (per_second * SHARE)
        self.block = max(1, int(BLOCK_SECONDS / self.gap))
        self.bookings = 0  # database bookings made (bench/)
        self.rebooked = 0  # slots let go too late and booked again
        self._asks: list[_Ask] = []
        self._seq = itertools.count()
        self._runner: asyncio.Task[None] | None = None
        self._holding = math.inf  # the priority held back by the horizon, while it waits
        self._urgent = asyncio.Event()
        self._added = False
        self._failing = False

    async def take(self, count: int, priority: int) -> None:
        """Wait for this process's turn and the database's slot for `count` messages. A slot
        let go more than LATE after its start (a busy event loop) is booked again, a few times
        at most: a late send would crowd the next second as Telegram counts it."""
        loop = asyncio.get_running_loop()
        seq = next(self._seq)
        for _ in range(REBOOKINGS + 1):
            ask = _Ask(priority, seq, count, loop.create_future())
            heapq.heappush(self._asks, ask)
            if priority < self._holding:
                self._urgent.set()
            if self._runner is None or self._runner.done():
                self._runner = asyncio.create_task(self._run(), name=f"flood pace {self.key}")
            try:
                due = await ask.slot
            except asyncio.CancelledError:
                if ask in self._asks:
                    self._asks.remove(ask)
                    heapq.heapify(self._asks)
                raise
            if due - loop.time() > PACE_TICK:
                await asyncio.sleep(due - loop.time())
            if loop.time() - due <= LATE:
                return
            self.rebooked += 1

    async def close(self) -> None:
        await cancel_and_wait(self._runner)

    def _batch(self) -> list[_Ask]:
        """The most urgent ask, and after it as many as one block of the pace holds."""
        batch: list[_Ask] = []
        total = 0
        while self._asks:
            ask = self._asks[0]
            if ask.slot.done():  # cancelled while waiting
                heapq.heappop(self._asks)
                continue
            if batch and total + ask.count > self.block:
                break
            batch.append(heapq.heappop(self._asks))
            total += ask.count
        return batch

    async def _run(self) -> None:
        while self._asks:
            batch = self._batch()
            if not batch:
                return
            first = batch[0].priority
            cost = self.gap * sum(ask.count for ask in batch)
            try:
                booking = await self._book(cost, None if first <= PEOPLE else HORIZON)
            except Exception:  # the database away: this process's own even pace
                if not self._failing:
                    log.warning("flood pace %s: database unavailable, pacing alone", self.key)
                    self._failing = True
                self._grant(batch, 0.0)
                await asyncio.sleep(cost)
                continue
            self._failing = False
            if booking.start is None:  # beyond the horizon: ask again when it comes close
                for ask in batch:
                    heapq.heappush(self._asks, ask)
                await self._hold(first, booking.next_free - HORIZON - booking.now)
                continue
            self._grant(batch, booking.start - booking.now)

    async def _book(self, cost: float, horizon: float | None) -> PaceBooking:
        async with self.store.autocommit() as tx:
            if not self._added:
                await tx.flood.add_pace(self.key)
                self._added = True
            self.bookings += 1
            return await tx.flood.book_pace(self.key, cost, horizon)

    def _grant(self, batch: list[_Ask], delay: float) -> None:
        """Give each ask its slot, as the event loop's time it starts at."""
        due = asyncio.get_running_loop().time() + delay
        for ask in batch:
            if not ask.slot.done():
                ask.slot.set_result(due)
            due += self.gap * ask.count

    async def _hold(self, priority: int, wait: float) -> None:
        """Wait `wait` seconds, or less if something more urgent than `priority` arrives."""
        self._holding = priority
        self._urgent.clear()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._urgent.wait(), max(wait, RETRY_FLOOR))
        finally:
            self._holding = math.inf


class SharedFloodBudget:
    """The `SharedLimits` of bot/budget.py: overall paces and groups' minutes in the database."""

    def __init__(
        self,
        store: Store,
        per_second: float,
        group_per_minute: float,
        *,
        paid_per_second: float = 0,
    ) -> None:
        self.store = store
        self.free = SharedPace(store, "free", per_second) if per_second > 0 else None
        self.paid = SharedPace(store, "paid", paid_per_second) if paid_per_second > 0 else None
        self.group_limit = int(group_per_minute)
        self._failing = False
        self._bookings: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def take(
        self, count: int, priority: int, *, paid: bool, group: int | str | None
    ) -> Sequence[float]:
        ages: Sequence[float] = ()
        if group is not None and self.group_limit:
            ages = await self._window(str(group), count, priority)
        pace = self.paid if paid else self.free
        if pace is not None:
            await pace.take(count, priority)
        return ages

    async def close(self) -> None:
        for pace in (self.free, self.paid):
            if pace is not None:
                await pace.close()

    def _booking(self, chat: str) -> asyncio.Lock:
        lock = self._bookings.get(chat)
        if lock is None:
            lock = self._bookings[chat] = asyncio.Lock()
        return lock

    async def _window(self, chat: str, count: int, priority: int) -> Sequence[float]:
        """Book `count` messages of the group's shared minute; the ages of its sends after."""
        window = GroupWindow(self.group_limit, GROUP_PERIOD)
        allowed = window.allowed(priority)
        while True:
            try:
                # One booking per group at a time from this process: waiters for the database's
                # lock would each hold one of the pool's connections.
                async with self._booking(chat), self.store.transaction() as tx:
                    booking = await tx.flood.book_window(chat, count, allowed, GROUP_PERIOD)
            except Exception:  # the database away: this process's own window decides
                if not self._failing:
                    log.warning("flood window of %s: database unavailable, pacing alone", chat)
                    self._failing = True
                return ()
            self._failing = False
            if booking.booked:
                return [booking.now - sent for sent in booking.sent]
            window.sent = deque(booking.sent)
            await asyncio.sleep(max(window.delay(priority, count, booking.now), RETRY_FLOOR))
