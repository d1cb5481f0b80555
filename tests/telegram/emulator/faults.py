"""Fault injection and flood limits: failures on demand, held requests, Telegram's 429s.

Why: the bot's retry, outbox and pacing logic is only tested if Telegram can be made to
fail, stall or refuse exactly when a story needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError
from .wire import JSON, _client_gone
from .world import Chat

if TYPE_CHECKING:
    from .core import BotApiEmulator


class Hold:
    """Blocks matching requests (unanswered, unrecorded) until :meth:`release`.

    A request whose client goes away while held leaves no trace, as if the process making it
    had been killed mid-request.
    """

    def __init__(self, emu: BotApiEmulator, method: str | None, chat_id: int | None) -> None:
        self._emu = emu
        self.method = method.lower() if method else None
        self.chat_id = chat_id
        self.waiting = 0
        self.total = 0  # requests that were held
        self.abandoned = 0  # held requests whose client disconnected
        self._released = asyncio.Event()

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def matches(self, method: str, params: JSON) -> bool:
        if self.released:
            return False
        if self.method is None:
            if method == "getUpdates":
                return False
        elif self.method != method.lower():
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id

    def release(self) -> None:
        """Let held (and future) requests through."""
        self._released.set()
        if self in self._emu.holds:
            self._emu.holds.remove(self)
        self._emu._changed()

    async def wait_for_request(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``count`` requests are blocked here."""
        await self._emu.wait_for(lambda: self.waiting >= count, timeout=timeout)

    async def _block(self, request: web.Request) -> bool:
        """True when released with the client still there; False when it went away."""
        self.waiting += 1
        self.total += 1
        self._emu._changed()
        try:
            while not self._released.is_set():
                if _client_gone(request):
                    self.abandoned += 1
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), 0.02)
        finally:
            self.waiting -= 1
            self._emu._changed()
        if _client_gone(request):
            self.abandoned += 1
            return False
        return True

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass
class _FailRule:
    method: str
    chat_id: Any
    error_code: int
    description: str
    parameters: JSON | None
    times: int


class FaultsMixin:
    """fail_next, hold and the optional Telegram-like flood limits."""

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` matching calls fail with this error (method "*" matches all but
        getUpdates)."""
        parameters: JSON = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        self._failures.append(
            _FailRule(method.lower(), chat_id, error_code, description, parameters or None, times)
        )

    def fail_next_flood(self, method: str, retry_after: int = 3, **kwargs: Any) -> None:
        """Shorthand: 429 ``Too Many Requests: retry after N``."""
        self.fail_next(
            method,
            error_code=429,
            description=f"Too Many Requests: retry after {retry_after}",
            retry_after=retry_after,
            **kwargs,
        )

    def hold(self, method: str | None = None, chat_id: int | None = None) -> Hold:
        """Block matching requests until ``release()`` (None matches all but getUpdates)."""
        hold = Hold(self, method, chat_id)
        self.holds.append(hold)
        return hold

    def _take_failure(self, method: str, params: JSON) -> ApiError | None:
        for rule in self._failures:
            if rule.method == "*" and method == "getUpdates":
                continue
            if rule.method not in ("*", method.lower()):
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            rule.times -= 1
            if rule.times <= 0:
                self._failures.remove(rule)
            return ApiError(rule.error_code, rule.description, rule.parameters)
        return None

    def _spend(self, chat: Chat, count: int, paid: bool = False) -> None:
        """Telegram-like flood limits (only when ``enforce_rate_limits``)."""
        if not self.enforce_rate_limits:
            return
        now = self.clock()
        if chat.is_private:
            local_key: Any = ("chat", chat.id)
            local_limit = self.rate_private
        else:
            local_key = ("chat", chat.id)
            local_limit = self.rate_group
        global_key = "paid" if paid else "global"
        global_limit = self.rate_paid if paid else self.rate_global
        waits = []
        for key, (limit, window) in ((global_key, global_limit), (local_key, local_limit)):
            times = self._sent_times.setdefault(key, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) + count > limit:
                index = min(len(times) + count - limit - 1, len(times) - 1)
                waits.append(times[index] + window - now if times else window)
        if waits:
            retry = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for key in (global_key, local_key):
            self._sent_times[key].extend([now] * count)
