"""python-telegram-bot persistence in our own SQLite file.

Drafts (user_data) and conversation states survive a restart. The application flushes after
every private-chat update (see handlers.register), so a crash loses at most the step in flight.
Changes are written by one committer task, in one transaction for everything that changed
together (a draft and its conversation step, many residents at once under load).
Bot-wide and chat data are not used: everything else lives in proper tables.
A user's data is a typed `Session` (bot/session.py), stored as the JSON of `Session.to_dict`,
the shape earlier versions wrote, and read back with `Session.from_dict`: the conversion
happens here, at the boundary, so the table and rows written before it are unchanged.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.session import Session
from storage import Store

USER_DATA = "user_data"


class SqlitePersistence(BasePersistence[Session, dict[str, Any], dict[str, Any]]):
    def __init__(self, store: Store, update_interval: float = 5.0) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.store = store
        self._changes: dict[tuple[str, str], str | None] = {}
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
        await self._change(row, None if new_state is None else json.dumps(new_state))

    async def update_user_data(self, user_id: int, data: Session) -> None:
        saved = data.to_dict()
        await self._change((USER_DATA, str(user_id)), json.dumps(saved) if saved else None)

    async def _change(self, row: tuple[str, str], data: str | None) -> None:
        """Queue a write (None deletes) and wait until it is committed."""
        self._changes[row] = data
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit(), name="persistence-commit")
        await asyncio.shield(self._committer)

    async def _commit(self) -> None:
        while self._changes:
            changes, self._changes = self._changes, {}
            async with self.store.transaction() as tx:
                for (kind, key), data in changes.items():
                    if data is None:
                        await tx.persistence.delete(kind, key)
                    else:
                        await tx.persistence.save(kind, key, data)

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        await self._change((USER_DATA, str(user_id)), None)

    async def refresh_user_data(self, user_id: int, user_data: Session) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def flush(self) -> None:
        if self._committer is not None:
            await self._committer
