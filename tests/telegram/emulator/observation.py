"""What tests read back: call records, callback answers, messages, commands, queues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .methods_bot import _scope_key
from .wire import JSON
from .world import EmuMessage


@dataclass
class CallbackAnswer:
    """What the bot answered to a callback query."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass
class CallRecord:
    """One Bot API call as the emulator answered it."""

    method: str
    params: JSON
    ok: bool
    error: str | None
    error_code: int | None
    result: Any
    t: float

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    def __repr__(self) -> str:
        status = "ok" if self.ok else f"{self.error_code} {self.error}"
        brief = {k: v for k, v in self.params.items() if k in _BRIEF_KEYS}
        return f"<{self.method} {brief} -> {status}>"


_BRIEF_KEYS = (
    "chat_id",
    "from_chat_id",
    "message_id",
    "message_thread_id",
    "callback_query_id",
    "text",
    "caption",
    "offset",
)


@dataclass
class _Query:
    id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    created: float


class ObservationMixin:
    """Read-only views of the world and of the calls made, for assertions."""

    def messages(self, chat_id: int, include_deleted: bool = False) -> list[EmuMessage]:
        """All messages of a chat in order (users' and bot's, service ones included)."""
        chat = self.chats[chat_id]
        return [m for m in chat.messages.values() if include_deleted or not m.deleted]

    def bot_messages(self, chat_id: int, include_service: bool = False) -> list[EmuMessage]:
        """The bot's live messages in a chat (pin/topic service notes left out by default)."""
        return [
            m
            for m in self.messages(chat_id)
            if m.from_id == self.bot.id and (include_service or not m.is_service)
        ]

    def message(self, chat_id: int, message_id: int) -> EmuMessage:
        """One message (deleted ones too); KeyError if it never existed."""
        return self.chats[chat_id].messages[message_id]

    def pinned(self, chat_id: int) -> list[EmuMessage]:
        chat = self.chats[chat_id]
        return [chat.messages[mid] for mid in chat.pinned if mid in chat.messages]

    def calls_to(self, method: str, ok: bool | None = None) -> list[CallRecord]:
        """Recorded calls of one method (optionally only successes/failures)."""
        return [
            c
            for c in self.calls
            if c.method.lower() == method.lower() and (ok is None or c.ok == ok)
        ]

    def get_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands set for exactly this scope and language (default scope if None)."""
        return list(self.commands.get((_scope_key(scope), language_code), []))

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    def all_updates_confirmed(self) -> bool:
        """Every enqueued update has been confirmed by a later getUpdates offset."""
        return not self._updates

    def pending_update_count(self) -> int:
        return len(self._updates)

    def unanswered_callback_queries(self) -> list[str]:
        return [qid for qid in self._queries if qid not in self.callback_answers]
