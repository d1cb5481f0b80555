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
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

PEOPLE = 0  # someone is waiting for this answer
URGENT = 10  # an urgent tip's card and thread (same value as the outbox's PRIORITY_URGENT)
# How many of a group's per-minute messages each kind of send must leave unused.
RESERVED_FOR_PEOPLE = 2
RESERVED_FOR_URGENT = 4
GROUP_WINDOW_MARGIN = 0.5  # seconds: clocks and transit differ a little between us and Telegram
# The overall pace, as a share of the limit: 98 %, what Telegram's "about 30" leaves us
# measured 29.3–29.4 a second on the emulator, 0 × 429 (bench/).
PACE_SHARE = 0.98
PACE_WINDOW_MARGIN = 0.002  # seconds added to the one-second window (clock granularity only)
# How late (in gaps between two messages) a pace may catch up; beyond, it starts afresh. A few
# gaps: a timer fired a little late costs nothing, yet no burst is let go at once (a burst of a
# hundred at 1,000 a second reached Telegram compressed, over its limit).
PACE_CATCH_UP = 3
# ...and never less than this many seconds: at 1,000 a second three gaps are 3 ms, and one
# pause of the event loop (a full garbage collection took 60 ms mid-broadcast) lost 60 sends
# for good, 2 % of a paid alert. What a catch-up lets go stays inside the sliding window.
PACE_CATCH_UP_SECONDS = 0.1
# A send due within this many seconds goes now: at 1,000 a second one timer lets a few go
# together instead of waking the event loop for each (a few milliseconds early stays inside the
# sliding window, which is exact).
PACE_TICK = 0.004
# A private chat: about one message a second, a burst of this many (Telegram tolerates short
# bursts); the window is burst / rate seconds, plus a margin for transit.
PRIVATE_BURST = 3
PRIVATE_WINDOW_MARGIN = 0.1


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


class GroupWindow:
    """At most `limit` messages in any `period` seconds; in a group (`reserve`), part of it is
    kept for people first."""

    def __init__(self, limit: int, period: float, *, reserve: bool = True) -> None:
        self.limit = limit
        self.period = period
        self.reserve = reserve
        self.sent: deque[float] = deque()

    def allowed(self, priority: int) -> int:
        if priority < URGENT or not self.reserve:
            return self.limit
        reserve = RESERVED_FOR_PEOPLE if priority == URGENT else RESERVED_FOR_URGENT
        return max(1, self.limit - reserve)

    def delay(self, priority: int, count: int, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.period:
            self.sent.popleft()
        allowed = self.allowed(priority)
        # An album larger than the window goes when the window is empty, not never.
        over = len(self.sent) + min(count, allowed) - allowed
        if over <= 0:
            return 0.0
        index = min(over - 1, len(self.sent) - 1)
        return self.sent[index] + self.period - now if self.sent else self.period

    def room(self, priority: int, now: float) -> int:
        """How many messages of this priority could go right now."""
        self.delay(priority, 0, now)
        return max(0, self.allowed(priority) - len(self.sent))

    def spend(self, count: int, now: float) -> None:
        self.sent.extend([now] * count)

    def idle(self, now: float) -> bool:
        """Nothing in the window any more (a private chat's window may be forgotten)."""
        return not self.sent or self.sent[-1] <= now - self.period


class Pace:
    """An even pace at `PACE_SHARE` of `per_second`, and never more than `per_second` messages
    in any second as Telegram may count them. The schedule is kept: a send let go late does
    not delay the next ones, up to `PACE_CATCH_UP` gaps (or `PACE_CATCH_UP_SECONDS`) late.

    Telegram counts a message somewhere between our sending it and its answer. So a message
    counts in the window from when its answer came (the latest Telegram can have counted it),
    and until then as if it were counted now: a send held up in transit (a busy machine, a slow
    network) can never squeeze more than the limit into Telegram's second."""

    def __init__(self, per_second: float) -> None:
        self.gap = 1 / (per_second * PACE_SHARE)
        self.next_free = -math.inf
        self.answered = GroupWindow(
            max(1, int(per_second)), 1.0 + PACE_WINDOW_MARGIN, reserve=False
        )
        self.in_flight = 0

    def delay(self, count: int, now: float) -> float:
        early = self.next_free - now
        window = self.answered
        while window.sent and window.sent[0] <= now - window.period:
            window.sent.popleft()
        over = len(window.sent) + self.in_flight + min(count, window.limit) - window.limit
        if over <= 0:
            guard = 0.0
        elif over <= len(window.sent):  # when enough answers have left the window
            guard = window.sent[over - 1] + window.period - now
        else:  # more in flight than the limit: look again when some may have been answered
            guard = self.gap
        return max(early if early > PACE_TICK else 0.0, guard)

    def spend(self, count: int, now: float) -> None:
        late = max(PACE_CATCH_UP * self.gap, PACE_CATCH_UP_SECONDS)
        start = self.next_free if self.next_free >= now - late else now
        self.next_free = start + self.gap * count
        self.in_flight += count

    def answered_at(self, count: int, now: float) -> None:
        """The send's answer (or its failure) came: it counts from now."""
        self.in_flight -= count
        self.answered.spend(count, now)


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    chat: int | str | None = field(compare=False)
    count: int = field(compare=False)
    ready: asyncio.Future[None] = field(compare=False)
    paid: bool = field(compare=False, default=False)


Callback = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]


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
    ) -> None:
        self.pace = Pace(per_second) if per_second > 0 else None
        self.paid_pace = Pace(paid_per_second) if paid_per_second > 0 else None
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
        budget allows it and nothing more urgent is waiting for the same budget."""
        blocked = self._blocked.get(chat, 0.0) - self.clock()
        if blocked > 0:
            await asyncio.sleep(blocked)
        pace = self.paid_pace if paid else self.pace
        if count == 0 or (pace is None and not self._windows(chat, self.clock())):
            return
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
            pace = self.paid_pace if waiter.paid else self.pace
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
