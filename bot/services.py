"""The long-lived parts of a running bot, created with the application and closed with it."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from bot.alarms import AlarmClock
from bot.blocks import identity_key
from bot.config import Settings
from bot.delivery import Drainer
from bot.replicas import Replica
from bot.tips import OfficerChat
from storage import Store

OFFICER_STATUSES = {"creator", "administrator", "member", "owner", "restricted"}
MEMBERSHIP_TTL = 300.0


class OfficerRoster:
    """Who is a member of the officer chat, asked of Telegram and cached for a few minutes.

    `chat_member` updates for the officer chat correct the cache at once, so an officer who
    leaves loses every right immediately.
    """

    def __init__(self, ttl: float = MEMBERSHIP_TTL) -> None:
        self.ttl = ttl
        self._known: dict[int, tuple[bool, float]] = {}

    def cached(self, user_id: int) -> bool | None:
        entry = self._known.get(user_id)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def forget(self, user_id: int) -> None:
        """Ask Telegram again next time (the membership changed on another replica)."""
        self._known.pop(user_id, None)

    def remember(self, user_id: int, status: str) -> bool:
        is_member = status in OFFICER_STATUSES
        self._known[user_id] = (is_member, time.monotonic() + self.ttl)
        return is_member


class FloodGuard:
    """Counts a resident's messages per minute so a flood is slowed down, with one warning."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def allow(self, user_id: int, now: float | None = None) -> tuple[bool, bool]:
        """(allowed, warn_now): warn once per flood, not at every message."""
        now = time.monotonic() if now is None else now
        seen = self._seen.setdefault(user_id, deque())
        while seen and seen[0] < now - 60:
            seen.popleft()
        if len(seen) < self.per_minute:
            seen.append(now)
            self._warned.pop(user_id, None)
            return True, False
        warned_at = self._warned.get(user_id)
        if warned_at is None or warned_at < now - 60:
            self._warned[user_id] = now
            return False, True
        return False, False

    def forget(self, user_id: int) -> None:
        """A resident erased their data: their counts go too."""
        self._seen.pop(user_id, None)
        self._warned.pop(user_id, None)


@dataclass
class Porch:
    """Everything a handler needs, reachable as `context.porch`."""

    settings: Settings
    store: Store
    officers: OfficerChat
    replica: Replica  # this process among replicas (alone, and leading, on SQLite)
    roster: OfficerRoster = field(default_factory=OfficerRoster)
    flood: FloodGuard = field(default_factory=lambda: FloodGuard(30))
    drainer: Drainer | None = None
    alarms: AlarmClock | None = None
    bot_username: str = ""

    @property
    def identity_key(self) -> bytes:
        """The key that hashes an erased resident's id for a block held across erasure."""
        return identity_key(self.settings.token)
