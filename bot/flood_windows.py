"""The arithmetic of Telegram's flood limits: sliding windows and even paces (no I/O, no clock
of their own: every call is told the time). bot/budget.py waits on them for this process;
bot/shared_budget.py reuses them on the database's clock when replicas share the limits."""

from __future__ import annotations

import math
from collections import deque

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
