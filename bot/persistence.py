"""python-telegram-bot persistence in our own SQLite file.

Drafts (user_data) and conversation states survive a restart. The application flushes after
every private-chat update (see handlers.register), so a crash loses at most the step in flight.
Changes are written by one committer task, in one transaction for everything that changed
together (a draft and its conversation step, many residents at once under load).
Bot-wide and chat data are not used: everything else lives in proper tables.
With several replicas (bot/replicas.py), a person's session and conversation steps are read
again from the database before each of their updates: the last one may have run elsewhere.
A user's data is a typed `Session` (bot/session.py), stored as the JSON of `Session.to_dict`,
the shape earlier versions wrote, and read back with `Session.from_dict`: the conversion
happens here, at the boundary, so the table and rows written before it are unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import BasePersistence, ConversationHandler, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.session import Session
from storage import Store, Tx

USER_DATA = "user_data"

Changes = list[tuple[tuple[str, str], tuple[str | None, int | None]]]

# Set while the update processor flushes after an update (bot/app.py): the changes are only
# queued, and committed in the same transaction that marks the update handled (bot/inbox.py).
_RIDING: ContextVar[bool] = ContextVar("porchlight_persistence_riding", default=False)


class SqlitePersistence(BasePersistence[Session, dict[str, Any], dict[str, Any]]):
    def __init__(self, store: Store, update_interval: float = 5.0) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.store = store
        self._changes: dict[tuple[str, str], tuple[str | None, int | None]] = {}
        self._versions: dict[int, int] = {}  # person → the latest update handled here
        self._committer: asyncio.Task[None] | None = None

    async def _load(self, kind: str) -> dict[str, str]:
        await self.store.open()
        async with self.store.read() as tx:
            return await tx.persistence.load(kind)

    async def get_user_data(self) -> dict[int, Session]:
        rows = await self._load(USER_DATA)
        return {int(key): Session.from_dict(json.loads(data)) for key, data in rows.items()}

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = await self._load(f"conversation:{name}")
        return {tuple(json.loads(key)): json.loads(state) for key, state in rows.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        row = (f"conversation:{name}", json.dumps(list(key)))
        person = key[-1] if key and isinstance(key[-1], int) else None
        version = self._versions.get(person, 0) if person is not None else 0
        await self._change(row, None if new_state is None else json.dumps(new_state), version)

    async def update_user_data(self, user_id: int, data: Session) -> None:
        saved = data.to_dict()
        data_json = json.dumps(saved) if saved else None
        await self._change((USER_DATA, str(user_id)), data_json, self._versions.get(user_id, 0))

    def seen(self, user_id: int, update_id: int) -> None:
        """This replica handles `update_id` of this person: what it writes of them from now on
        is that version. Another replica that handled an earlier update and writes late (a
        batch held up, a deadlock re-run) cannot overwrite it (storage: `save`)."""
        if update_id > self._versions.get(user_id, 0):
            self._versions[user_id] = update_id

    @contextmanager
    def riding(self) -> Iterator[None]:
        """Changes made inside (PTB's flush after an update) are queued, not committed: the
        caller commits them with its own write (`take`), one transaction instead of two."""
        token = _RIDING.set(True)
        try:
            yield
        finally:
            _RIDING.reset(token)

    def take(self) -> Changes:
        """The queued changes, in key order, for the caller's transaction (`write_changes`)."""
        changes, self._changes = sorted(self._changes.items()), {}
        return changes

    def give_back(self, changes: Changes) -> None:
        """Changes whose transaction failed: queued again, unless changed again meanwhile."""
        for row, change in changes:
            self._changes.setdefault(row, change)

    async def _change(self, row: tuple[str, str], data: str | None, version: int | None) -> None:
        """Queue a write (None deletes; a `version` None deletes whatever is there) and wait
        until it is committed (riding along: queue it only)."""
        self._changes[row] = (data, version)
        if _RIDING.get():
            return
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit(), name="persistence-commit")
        await asyncio.shield(self._committer)

    async def _commit(self) -> None:
        while self._changes:
            await self.store.run(functools.partial(write_changes, self.take()))

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        await self._change((USER_DATA, str(user_id)), None, None)  # erased: whatever the version

    async def refresh_user_data(self, user_id: int, user_data: Session) -> None:
        """With several replicas, the person's last step may have run on another one: read
        their session from the database (PTB calls this before every handler it runs)."""
        if not self.store.shared:
            return
        row = (USER_DATA, str(user_id))
        if row in self._changes:  # written here a moment ago and not committed yet: newest
            return
        found = await self._rows([row])
        fresh = Session.from_dict(json.loads(found[row])) if row in found else Session()
        vars(user_data).update(vars(fresh))

    async def refresh_conversations(
        self, handlers: list[ConversationHandler[Any]], update: Update
    ) -> None:
        """Conversation steps of this update's chat and person as the database has them
        (several replicas: the previous step may have run on another one). PTB reads a
        conversation's state before any hook of ours runs and offers no way to set it, so the
        state goes into the handler's own table (`_conversations`, without marking it changed)."""
        if not self.store.shared:
            return
        wanted: dict[tuple[str, str], tuple[ConversationHandler[Any], ConversationKey]] = {}
        for handler in handlers:
            key = _conversation_key(handler, update)
            if key is not None and handler.name:
                wanted[(f"conversation:{handler.name}", json.dumps(list(key)))] = (handler, key)
        found = await self._rows([row for row in wanted if row not in self._changes])
        for row, (handler, key) in wanted.items():
            if row in self._changes:
                continue
            # TrackingDict's own dict: a write PTB does not count as a change to save again
            table = getattr(handler._conversations, "data", handler._conversations)
            if row in found:
                table[key] = json.loads(found[row])
            else:
                table.pop(key, None)

    async def _rows(self, rows: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        if not rows:
            return {}
        async with self.store.read() as tx:
            return await tx.persistence.load_rows(rows)

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def flush(self) -> None:
        if self._committer is not None:
            await self._committer


async def write_changes(changes: Changes, tx: Tx) -> None:
    """One batch of drafts and steps, in key order: replicas writing overlapping batches then
    lock their rows in the same order and never deadlock (a deadlock is re-run all the same)."""
    for (kind, key), (data, version) in changes:
        if data is None:
            await tx.persistence.delete(kind, key, version)
        else:
            await tx.persistence.save(kind, key, data, version or 0)


def _conversation_key(handler: ConversationHandler[Any], update: Update) -> ConversationKey | None:
    """The key PTB gives this update in `handler` (its chat and/or person), or None."""
    key: list[int | str] = []
    if handler.per_chat:
        if update.effective_chat is None:
            return None
        key.append(update.effective_chat.id)
    if handler.per_user:
        if update.effective_user is None:
            return None
        key.append(update.effective_user.id)
    if handler.per_message:
        return None  # not used by Porchlight's conversations
    return tuple(key)
