"""No update lost to a crash: every update is stored before Telegram learns it arrived.

python-telegram-bot confirms an update (the next getUpdates offset, or the webhook's 200) as
soon as it is on the update queue, before any handler ran. `Inbox` is that queue: `put()`
commits the update first (PTB awaits `put` before it confirms, in both modes), and the update
processor's `after` hook marks it handled. At start, whatever is still pending is queued again.

An id already in the inbox is never queued twice: Telegram delivering again an update that was
replayed, is waiting, or was handled shortly before a crash changes nothing. Handled ids are
kept for `KEEP_HANDLED`, longer than Telegram keeps an unconfirmed update.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from telegram import Bot, Update

from bot.concurrency import chat_key
from bot.persistence import Changes, SqlitePersistence, write_changes
from bot.replicas import Replica
from storage import DATABASE_ERRORS, Store, Tx
from storage.inbox import InboxEntry

log = logging.getLogger(__name__)

KEEP_HANDLED = timedelta(hours=48)  # Telegram keeps unconfirmed updates for 24 hours
FORGET_EVERY = timedelta(hours=1)
RETRY_MAX_SECONDS = 5.0


class Inbox(asyncio.Queue[object]):
    """PTB's update queue, backed by the `inbox` table. With several replicas (bot.replicas)
    each update is stored with its chat and a lease in this replica's name."""

    def __init__(
        self,
        store: Store,
        replica: Replica | None = None,
        persistence: SqlitePersistence | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.replica = replica
        # Drafts and steps changed by the updates being marked handled ride in the same commit.
        self.persistence = persistence
        self.bot: Bot | None = None
        self._handled: list[int] = []
        self._committer: asyncio.Task[None] | None = None
        self._forgotten_at = store.clock.now()
        # Polling: updates as Telegram sent them, not stored yet (`received`), and those stored
        # with their batch but not queued yet (id → whether it was new).
        self._raw: dict[int, str] = {}
        self._kept: dict[int, bool] = {}
        self._batch = asyncio.Lock()

    def received(self, updates: list[dict[str, Any]]) -> None:
        """getUpdates' updates, before PTB decodes them (bot/http.RawUpdates): every update's own
        JSON, stored with its whole batch at the batch's first `put`. One round trip for a
        burst of a hundred updates instead of one each (PTB queues them one after the other),
        and no encoding of PTB's objects back to JSON. Several replicas store each update with
        its chat and lease instead (`_keep`)."""
        if self.replica is not None and self.replica.shared:
            return
        for raw in updates:
            if isinstance(raw, dict) and isinstance(raw.get("update_id"), int):
                self._raw[raw["update_id"]] = json.dumps(raw)

    async def put(self, item: object) -> None:
        """Commit an update, then queue it if it is new (other objects pass straight through)."""
        if isinstance(item, Update) and not await self._keep(item):
            log.debug("update %s is already in the inbox", item.update_id)
            return
        await super().put(item)

    async def _keep(self, update: Update) -> bool:
        """Write until it works: an update we could not store must not be confirmed."""
        if update.update_id in self._raw or update.update_id in self._kept:
            return await self._keep_received(update.update_id)
        delay = 0.1
        while True:
            try:
                async with self.store.autocommit() as tx:  # one statement: one round trip
                    if self.replica is None or not self.replica.shared:
                        return await tx.inbox.add(update.update_id, update.to_dict())
                    return await tx.inbox.add(
                        update.update_id,
                        update.to_dict(),
                        chat_key(update),
                        self.replica.lease(),
                    )
            except DATABASE_ERRORS as error:
                log.error("could not store update %s (%s); retrying", update.update_id, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _keep_received(self, update_id: int) -> bool:
        """The update's batch is stored (at its first update), then the update is new or not."""
        delay = 0.1
        async with self._batch:
            while update_id not in self._kept:
                batch = sorted(self._raw.items())
                try:
                    new = await self.store.run(partial(_add_received, batch))
                except DATABASE_ERRORS as error:
                    log.error("could not store %d update(s) (%s); retrying", len(batch), error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX_SECONDS)
                    continue
                for stored, _ in batch:
                    self._raw.pop(stored, None)
                    self._kept[stored] = stored in new
            return self._kept.pop(update_id)

    async def handled(self, update: object) -> None:
        """The processor's `after` hook: mark handled, in one commit with its neighbours."""
        if not isinstance(update, Update):
            return
        self._handled.append(update.update_id)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit(), name="inbox-commit")
        await asyncio.shield(self._committer)

    async def _commit(self) -> None:
        while self._handled:
            done, self._handled = self._handled, []
            now = self.store.clock.now()
            forget_before = None
            if now - self._forgotten_at >= FORGET_EVERY:
                self._forgotten_at, forget_before = now, now - KEEP_HANDLED
            changes = self.persistence.take() if self.persistence is not None else []
            try:
                await self.store.run(partial(_mark_handled, done, forget_before, changes))
            except BaseException:
                if self.persistence is not None:
                    self.persistence.give_back(changes)
                raise
            if self.replica is not None:
                self.replica.handled()

    async def replay(self, bot: Bot) -> int:
        """Queue every update stored but not handled before the last stop (oldest first).
        With several replicas: this replica's own, and those of replicas that died."""
        self.bot = bot
        if self.replica is not None and self.replica.shared:
            async with self.store.autocommit() as tx:
                await tx.inbox.forget_handled(self.store.clock.now() - KEEP_HANDLED)
            now = self.store.clock.now().timestamp()
            count = await self.replica.take_over(now, own=True)
            if count:
                log.info("handling %d update(s) received before the last stop", count)
            return count
        async with self.store.transaction() as tx:
            await tx.inbox.forget_handled(self.store.clock.now() - KEEP_HANDLED)
            entries = await tx.inbox.pending()
        await self.requeue(entries)
        if entries:
            log.info("handling %d update(s) received before the last stop", len(entries))
        return len(entries)

    async def requeue(self, entries: list[InboxEntry]) -> None:
        """Queue stored updates (replayed, or taken over from a replica that died)."""
        assert self.bot is not None, "replay() first"
        bot = self.bot
        unreadable = []
        for entry in entries:
            try:
                update = Update.de_json(entry.payload, bot)
            except Exception:
                log.exception("stored update %s cannot be read; dropping it", entry.update_id)
                unreadable.append(entry.update_id)
                continue
            await super().put(update)
        if unreadable:
            async with self.store.transaction() as tx:
                await tx.inbox.mark_handled(unreadable)


async def _mark_handled(
    done: list[int], forget_before: datetime | None, changes: Changes, tx: Tx
) -> None:
    """Updates handled with the drafts and steps they changed, and (once an hour) those handled
    long ago forgotten: one transaction, one round trip."""
    await write_changes(changes, tx)
    await tx.inbox.mark_handled(done)
    if forget_before is not None:
        await tx.inbox.forget_handled(forget_before)


async def _add_received(batch: list[tuple[int, str]], tx: Tx) -> set[int]:
    return await tx.inbox.add_received(batch)
