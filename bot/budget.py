"""Telegram's budget and weather, in one place: every Bot API call of the bot passes here.

python-telegram-bot hands every request (except getUpdates) to the application's rate limiter,
so this is where one retry policy and one flood budget can serve handlers and the outbox alike:

- **Retries.** 5xx, timeouts and network errors are retried a few times within a few seconds.
  A 429 is waited out (`retry_after`) and sent again; later sends to that chat wait too. The
  outbox passes `durable=True`: it gets a 429 back at once and reschedules the row itself,
  without holding a sending slot, and keeps its own longer back-off after our short one.
  *Duplicates:* a send that timed out may have reached Telegram (the Bot API has no idempotency
  key), so retrying it can show a message twice. We retry anyway: a prompt or an answer seen
  twice costs a resident a second of reading; a prompt never seen costs the whole conversation.
  The exception is a forum topic's creation (AT_MOST_ONCE): a second topic for one tip would
  stay in the officers' topic list, so an unanswered creation is not repeated (bot/forum.py).
- **Flood budget.** Only calls that post a message spend it (Telegram's limits count messages,
  not edits, reactions, button answers or membership look-ups; a forum topic's creation or
  change posts a service message, so it counts): an even pace overall (30 a second), at most 20
  in any minute per group and about one a second per private chat (a burst of 3). Paid
  broadcasts (`allow_paid_broadcast`) have their own overall pace (1,000 a second) and leave
  the free one alone. Waiting sends are served by priority: people waiting for an
  answer (priority 0, every interactive call) first, then the outbox by its row priority. In a
  group, cards and other queued work may not use the last few messages of the minute — they
  are kept for people (and urgent tips), so an officer's command is answered in seconds even
  while cards queue.
- **Replicas.** Several processes on one PostgreSQL share Telegram's limits (`shared`,
  bot/shared_budget.py): this process still orders its waiting sends and keeps each private
  chat's second; the overall paces and groups' minutes are then booked in the database.
- **The whole budget, evenly.** The overall pace keeps its schedule: a send let go a few
  milliseconds late (a busy event loop, a timer's granularity) does not push every later one
  back, which alone cost 3 % of a broadcast. A sliding window bounds what a late start catches
  up: never more than the limit in any second as Telegram may have counted it (a message counts
  from its answer: one held up in transit cannot crowd the next second).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from telegram._utils.types import JSONDict
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot.flood_windows import (
    GROUP_WINDOW_MARGIN,
    PEOPLE,
    PRIVATE_BURST,
    PRIVATE_WINDOW_MARGIN,
    GroupWindow,
    Pace,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendOptions:
    """`rate_limit_args` of a Bot API call. Handlers pass nothing: they get PEOPLE."""

    priority: int = PEOPLE
    durable: bool = False  # the outbox: a 429 comes back at once, the row is rescheduled


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # one try and three retries
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    max_wait: float = 60.0  # the longest 429 an interactive call waits out


def not_modified(error: Exception) -> bool:
    """Telegram's answer to an edit that changes nothing: the message already says it, so the
    edit is done (an update handled again, a card edit behind an identical one)."""
    return isinstance(error, BadRequest) and "message is not modified" in str(error).lower()


def seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# Forum topic changes post a service message in the group ("… created the topic"), so they
# spend its per-minute budget like a message.
TOPIC_CHANGES = frozenset(
    {"createForumTopic", "editForumTopic", "closeForumTopic", "reopenForumTopic"}
)
# Calls that must not be repeated when they may have reached Telegram: a second topic for one
# tip is worse than none (bot/forum.py).
AT_MOST_ONCE = frozenset({"createForumTopic"})


def may_have_happened(error: NetworkError) -> bool:
    """Whether a failed call may still have been carried out: no answer came (a timeout, a
    connection lost after the request went out). A 5xx is Telegram answering that it failed,
    and a refused connection never carried a request."""
    if isinstance(error, TimedOut):
        return True
    return error.message.startswith("httpx.") and "ConnectError" not in error.message


def _spends(endpoint: str, data: dict[str, Any]) -> int:
    """How many messages a call posts (what Telegram's flood limits count)."""
    if endpoint in TOPIC_CHANGES:
        return 1
    if endpoint == "sendMediaGroup":
        media = data.get("media")
        return len(media) if isinstance(media, list) else 1
    if endpoint in ("copyMessages", "forwardMessages"):
        ids = data.get("message_ids")
        return len(ids) if isinstance(ids, list) else 1
    if endpoint.startswith("send") and endpoint != "sendChatAction":
        return 1
    return 1 if endpoint in ("copyMessage", "forwardMessage") else 0


def _chat(data: dict[str, Any]) -> int | str | None:
    chat = data.get("chat_id")
    if isinstance(chat, int | str):
        with contextlib.suppress(ValueError):
            return int(chat)
        return chat
    return None


def _is_group(chat: int | str | None) -> bool:
    return (isinstance(chat, int) and chat < 0) or isinstance(chat, str)


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    chat: int | str | None = field(compare=False)
    count: int = field(compare=False)
    ready: asyncio.Future[None] = field(compare=False)
    paid: bool = field(compare=False, default=False)


Callback = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]


class SharedLimits(Protocol):
    """The limits several processes share (bot/shared_budget.py): the overall paces and groups'
    minutes. Asked after this process's own turn; answers the ages (seconds) of the group's
    sends in its window, this one included (nothing when `group` is None)."""

    async def take(
        self, count: int, priority: int, *, paid: bool, group: int | str | None
    ) -> Sequence[float]: ...

    async def close(self) -> None: ...


class TelegramBudget(BaseRateLimiter[SendOptions]):
    def __init__(
        self,
        per_second: float,
        group_per_minute: float,
        *,
        private_per_second: float = 0,
        paid_per_second: float = 0,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedLimits | None = None,
    ) -> None:
        self.pace = Pace(per_second) if per_second > 0 else None
        self.paid_pace = Pace(paid_per_second) if paid_per_second > 0 else None
        self.shared = shared
        self.group_per_minute = group_per_minute
        self.private_per_second = private_per_second
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self._groups: dict[int | str, GroupWindow] = {}
        self._privates: dict[int, GroupWindow] = {}
        self._blocked: dict[int | str | None, float] = {}
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.shared is not None:
            await self.shared.close()

    # --- what the outbox asks -----------------------------------------------------------------

    def room(self, chat_id: int, priority: int) -> int:
        """Messages of `priority` that may go to group `chat_id` now (a large number if
        unlimited)."""
        now = self.clock()
        if self._blocked.get(chat_id, 0.0) > now:
            return 0
        window = self._group(chat_id)
        return window.room(priority, now) if window is not None else 1_000_000

    def next_room(self, chat_id: int, priority: int, count: int = 1) -> float:
        """Seconds until `count` messages of `priority` may go to group `chat_id`."""
        now = self.clock()
        blocked = max(0.0, self._blocked.get(chat_id, 0.0) - now)
        window = self._group(chat_id)
        return max(blocked, window.delay(priority, count, now) if window is not None else 0.0)

    def nudge(self) -> None:
        """Look at the waiting sends again now (after the clock was moved)."""
        if self._waiting:
            self._dispatch()

    # --- the rate limiter -----------------------------------------------------------------------

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: SendOptions | None,
    ) -> bool | JSONDict | list[JSONDict]:
        options = rate_limit_args or SendOptions()
        chat, count = _chat(data), _spends(endpoint, data)
        paid = bool(data.get("allow_paid_broadcast"))
        waited_429 = 0.0
        attempt = 1
        pace = self.paid_pace if paid else self.pace
        while True:
            await self._turn(chat, count, options.priority, paid)
            try:
                try:
                    return await callback(*args, **kwargs)
                finally:  # answered, refused or lost: Telegram counted it by now, if at all
                    if count and pace is not None:
                        pace.answered_at(count, self.clock())
            except RetryAfter as error:
                wait = seconds(error.retry_after)
                self._block(chat, wait)
                waited_429 += wait
                if options.durable or waited_429 > self.policy.max_wait:
                    raise
                log.info("429 on %s to %s: waiting %.1fs", endpoint, chat, wait)
                await asyncio.sleep(wait)
            except BadRequest:
                raise
            except NetworkError as error:  # 5xx, timeouts, connection errors
                if attempt >= self.policy.attempts:
                    raise
                if endpoint in AT_MOST_ONCE and may_have_happened(error):
                    raise
                delay = self.policy.backoff * 2 ** (attempt - 1)
                log.debug(
                    "%s to %s failed (%s): retry %d in %.2fs", endpoint, chat, error, attempt, delay
                )
                attempt += 1
                await asyncio.sleep(delay)

    async def _turn(self, chat: int | str | None, count: int, priority: int, paid: bool) -> None:
        """Wait until this call may go: the chat is not in a 429 pause and, for a message, the
        budget allows it and nothing more urgent is waiting for the same budget; then, with
        replicas, the budget they share allows it too."""
        blocked = self._blocked.get(chat, 0.0) - self.clock()
        if blocked > 0:
            await asyncio.sleep(blocked)
        if count == 0:
            return
        if self._local_pace(paid) is not None or self._windows(chat, self.clock()):
            await self._local_turn(chat, count, priority, paid)
        if self.shared is not None:
            group = chat if _is_group(chat) and self.group_per_minute else None
            ages = await self.shared.take(count, priority, paid=paid, group=group)
            window = self._group(chat)
            if window is not None and ages:  # what the other replicas sent there too
                now = self.clock()
                window.sent = deque(sorted(now - age for age in ages))
            await self._guard(self.paid_pace if paid else self.pace, count)

    def _local_pace(self, paid: bool) -> Pace | None:
        """The pace this process's waiters queue for: with replicas, the shared one instead."""
        return None if self.shared is not None else self.paid_pace if paid else self.pace

    async def _guard(self, pace: Pace | None, count: int) -> None:
        """With replicas, this process's pace only guards its own sends after their shared
        slot: never more than the limit in a second as Telegram may count them (transit can
        bunch up slots that were booked evenly)."""
        if pace is None:
            return
        # Each wait is computed (until an answer or a second has passed), not a flag polled.
        while (delay := pace.delay(count, self.clock())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
        pace.spend(count, self.clock())

    async def _local_turn(
        self, chat: int | str | None, count: int, priority: int, paid: bool
    ) -> None:
        pace = self._local_pace(paid)
        waiter = _Waiter(
            priority,
            next(self._seq),
            chat,
            count,
            asyncio.get_running_loop().create_future(),
            paid,
        )
        heapq.heappush(self._waiting, waiter)
        self._dispatch()
        try:
            await waiter.ready
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
                heapq.heapify(self._waiting)
            if waiter.ready.done() and not waiter.ready.cancelled() and pace is not None:
                pace.answered_at(count, self.clock())  # let go, then never sent
            raise

    def _block(self, chat: int | str | None, wait: float) -> None:
        """After a 429, later sends to the chat wait too (old pauses are forgotten)."""
        now = self.clock()
        if len(self._blocked) > 1024:
            self._blocked = {key: until for key, until in self._blocked.items() if until > now}
        self._blocked[chat] = max(self._blocked.get(chat, 0.0), now + wait)

    def _group(self, chat: int | str | None) -> GroupWindow | None:
        if not self.group_per_minute or not _is_group(chat) or chat is None:
            return None
        window = self._groups.get(chat)
        if window is None:
            window = GroupWindow(int(self.group_per_minute), 60.0 + GROUP_WINDOW_MARGIN)
            self._groups[chat] = window
        return window

    def _private(self, chat: int | str | None, now: float) -> GroupWindow | None:
        if not self.private_per_second or not isinstance(chat, int) or chat <= 0:
            return None
        window = self._privates.get(chat)
        if window is None:
            if len(self._privates) > 4096:  # a broadcast's worth: forget the quiet ones
                self._privates = {k: w for k, w in self._privates.items() if not w.idle(now)}
            period = PRIVATE_BURST / self.private_per_second + PRIVATE_WINDOW_MARGIN
            window = GroupWindow(PRIVATE_BURST, period, reserve=False)
            self._privates[chat] = window
        return window

    def _windows(self, chat: int | str | None, now: float) -> list[GroupWindow]:
        """The chat's own limits: a group's minute, or a private chat's few seconds."""
        window = self._group(chat) or self._private(chat, now)
        return [window] if window is not None else []

    def _dispatch(self) -> None:
        """Let go every waiter whose budget allows it, most urgent first; time the next look."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self.clock()
        soonest = math.inf
        still: list[_Waiter] = []
        spent: set[Pace] = set()  # paces with no room left now: their other waiters wait too
        for waiter in sorted(self._waiting):
            if waiter.ready.done():
                continue
            pace = self._local_pace(waiter.paid)
            if pace in spent:
                still.append(waiter)
                continue
            delay = pace.delay(waiter.count, now) if pace is not None else 0.0
            if pace is not None and delay > 0:
                spent.add(pace)
            windows = self._windows(waiter.chat, now)
            for window in windows:
                delay = max(delay, window.delay(waiter.priority, waiter.count, now))
            if delay > 0:
                soonest = min(soonest, delay)
                still.append(waiter)
                continue
            if pace is not None:
                pace.spend(waiter.count, now)
            for window in windows:
                window.spend(waiter.count, now)
            waiter.ready.set_result(None)
        heapq.heapify(still)
        self._waiting = still
        if still:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(soonest, 0.001), self._dispatch)
