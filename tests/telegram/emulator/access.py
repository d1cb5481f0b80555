"""Which chat a call names and whether the bot may read or write there.

Shared by every method family: chat lookup, kicked/blocked/migrated errors, threads,
reply targets and the bot's admin rights.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, _as_int, bad_request, forbidden
from .wire import JSON
from .world import Chat, EmuMessage


class ChatAccessMixin:
    """Resolves chats and messages and checks the bot's access, in Telegram's words."""

    def _resolve_chat(self, value: Any, key: str = "chat_id") -> Chat:
        if value is None or value == "":
            raise bad_request(f"{key} is empty")
        if isinstance(value, str) and value.startswith("@"):
            for chat in self.chats.values():
                name = chat.username or (chat.user.username if chat.user else None)
                if name and name.lower() == value[1:].lower():
                    return chat
            raise bad_request("chat not found")
        found = self.chats.get(_as_int(value, key))
        if found is None:
            raise bad_request("chat not found")
        return found

    def _check_group_access(self, chat: Chat) -> None:
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        if chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {chat.type} chat")

    def _readable_chat(self, value: Any, key: str = "chat_id") -> Chat:
        chat = self._resolve_chat(value, key)
        if not chat.is_private:
            self._check_group_access(chat)
        return chat

    def _writable_chat(self, p: JSON) -> Chat:
        chat = self._resolve_chat(p.get("chat_id"))
        if chat.is_private:
            if chat.deactivated:
                raise forbidden("user is deactivated")
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
        else:
            self._check_group_access(chat)
            if chat.bot_status == "restricted" and not chat.bot_rights.get(
                "can_send_messages", False
            ):
                raise bad_request("not enough rights to send text messages to the chat")
        return chat

    def _thread(self, chat: Chat, p: JSON) -> int | None:
        raw = p.get("message_thread_id")
        if raw in (None, "", 0):
            return None
        thread = _as_int(raw, "message_thread_id")
        if chat.is_forum:
            if thread != 1 and thread not in chat.topics:
                raise bad_request("message thread not found")
            # A closed topic takes messages only from those who may manage topics.
            if thread in chat.closed_topics and not self._bot_right(chat, "can_manage_topics"):
                raise bad_request("TOPIC_CLOSED")
            return thread
        if thread not in chat.messages or chat.messages[thread].deleted:
            raise bad_request("message thread not found")
        return thread

    def _reply_target(self, chat: Chat, p: JSON) -> int | None:
        allow = bool(p.get("allow_sending_without_reply"))
        target: Any = None
        target_chat = chat
        rp = p.get("reply_parameters")
        if isinstance(rp, dict):
            target = rp.get("message_id")
            allow = allow or bool(rp.get("allow_sending_without_reply"))
            if rp.get("chat_id") not in (None, chat.id):
                target_chat = self._resolve_chat(rp["chat_id"])
        elif p.get("reply_to_message_id") not in (None, 0, ""):
            target = p.get("reply_to_message_id")
        if target is None:
            return None
        mid = _as_int(target, "message_id")
        msg = target_chat.messages.get(mid)
        if msg is None or msg.deleted or target_chat is not chat:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return mid

    def _bot_right(self, chat: Chat, right: str) -> bool:
        if chat.is_private:
            return True
        if chat.bot_status == "creator":
            return True
        if chat.bot_status != "administrator":
            return False
        return bool(chat.bot_rights.get(right, True))

    def _find_message(self, chat: Chat, p: JSON, error: str) -> EmuMessage:
        raw = p.get("message_id")
        if raw in (None, ""):
            raise bad_request("message identifier is not specified")
        msg = chat.messages.get(_as_int(raw, "message_id"))
        if msg is None or msg.deleted:
            raise bad_request(error)
        return msg
