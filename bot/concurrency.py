"""Updates from different chats run in parallel; updates from one chat run in order.

A resident's album, their taps and their report steps must be handled one after the other
(ConversationHandler state, draft in user_data), but one resident's slow step must not hold up
two hundred others. PTB's default is strictly sequential; this processor keeps order only where
it matters.

With several replicas, `before` first waits for the chat's turn in the database (an earlier
update of the chat handled on another replica). An update then waits for its chat's turn here
and only then takes one of the shared processing slots: a chat with a backlog (an officer chat
paced at 20 messages a minute, a resident who floods) holds at most one slot, never all of
them. Updates the bot does not handle at all are dropped before they take a slot (`accept`), so
a flood of junk cannot queue in front of people.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

Accept = Callable[[object], bool]
AfterUpdate = Callable[[object], Awaitable[None]]
BeforeUpdate = Callable[[object], Awaitable[None]]


def chat_key(update: object) -> int | None:
    """The chat whose order this update belongs to (None: no order to keep)."""
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """`slots` updates are handled at once; any number may wait for their chat's turn.

    PTB's own semaphore (taken before `do_process_update`) only bounds how many updates wait
    here at all; the real slots are taken inside, after the chat's lock.
    """

    def __init__(
        self,
        slots: int = 8,
        *,
        accept: Accept | None = None,
        after: AfterUpdate | None = None,
        before: BeforeUpdate | None = None,
        max_waiting: int = 100_000,
    ) -> None:
        super().__init__(max_waiting)
        self.slots = asyncio.Semaphore(slots)
        self.accept = accept
        self.after = after
        self.before = before
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Drop what we do not handle; then the chat's turn, then a shared slot."""
        if self.accept is not None and not self.accept(update):
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            await self._after(update)
            return
        if self.before is not None:  # the chat's turn among replicas (bot/replicas.py)
            await self.before(update)
        key = chat_key(update)
        if key is None:
            async with self.slots:
                await coroutine
            await self._after(update)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self.slots:
                await coroutine
            await self._after(update)
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    async def _after(self, update: object) -> None:
        if self.after is None:
            return
        try:
            await self.after(update)
        except Exception:
            log.exception("after-update hook failed")

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
