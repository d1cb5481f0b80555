"""Pinned messages and forum topics: each leaves a service message, as on Telegram.

Forum topics as Telegram keeps them: a topic is the thread of its creation service message
(its id is the topic's message_thread_id); creating, renaming, closing and reopening each post
a service message in the topic; a change that changes nothing is ``TOPIC_NOT_MODIFIED``; a
deleted topic is ``message thread not found``. The bot manages topics it created, or any with
the *manage topics* right.
"""

from __future__ import annotations

from .errors import _as_int, bad_request
from .wire import JSON, Handler, _Upload
from .world import Chat


class PinTopicMethods:
    """(un)pinChatMessage, unpinAllChatMessages and the forum topic methods."""

    def _m_pin(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if not self._bot_right(chat, "can_pin_messages"):
            raise bad_request("not enough rights to manage pinned messages in the chat")
        msg = self._find_message(chat, p, "message to pin not found")
        if msg.message_id in chat.pinned:
            chat.pinned.remove(msg.message_id)
        chat.pinned.append(msg.message_id)
        self._store(
            chat,
            self.bot.as_dict(),
            {"pinned_message": msg.to_json(with_reply=False)},
            thread=msg.message_thread_id,
            method="pinChatMessage",
            service=True,
        )
        return True

    def _m_unpin(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if not self._bot_right(chat, "can_pin_messages"):
            raise bad_request("not enough rights to manage pinned messages in the chat")
        raw = p.get("message_id")
        if raw in (None, ""):
            if chat.pinned:
                chat.pinned.pop()
        else:
            mid = _as_int(raw, "message_id")
            if mid in chat.pinned:
                chat.pinned.remove(mid)
        self._changed()
        return True

    def _m_unpin_all(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if not self._bot_right(chat, "can_pin_messages"):
            raise bad_request("not enough rights to manage pinned messages in the chat")
        chat.pinned.clear()
        self._changed()
        return True

    def _forum(self, p: JSON) -> Chat:
        chat = self._readable_chat(p.get("chat_id"))
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        return chat

    def _managed_topic(self, p: JSON) -> tuple[Chat, int]:
        """The forum and topic of an edit/close/reopen: Telegram lets the bot manage a topic
        it created, or any topic with the *manage topics* right."""
        chat = self._forum(p)
        thread = _as_int(p.get("message_thread_id"), "message_thread_id")
        if thread not in chat.topics:
            raise bad_request("message thread not found")
        created_by_bot = chat.topic_creators.get(thread) == self.bot.id
        if not created_by_bot and not self._bot_right(chat, "can_manage_topics"):
            raise bad_request("not enough rights to manage topics")
        return chat, thread

    def _topic_note(self, chat: Chat, thread: int, content: JSON, method: str) -> None:
        """The service message a topic change leaves in the topic; it counts against the
        group's flood limit like a message."""
        self._spend(chat, 1)
        self._store(chat, self.bot.as_dict(), content, thread=thread, method=method, service=True)

    def _m_create_topic(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        chat = self._forum(p)
        if not self._bot_right(chat, "can_manage_topics"):
            raise bad_request("not enough rights to create a topic")
        name = str(p.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        icon_color = int(p.get("icon_color") or 7322096)
        created: JSON = {"name": name, "icon_color": icon_color}
        if p.get("icon_custom_emoji_id"):
            created["icon_custom_emoji_id"] = p["icon_custom_emoji_id"]
        self._spend(chat, 1)
        note = self._store(
            chat,
            self.bot.as_dict(),
            {"forum_topic_created": created},
            method="createForumTopic",
            service=True,
        )
        note.raw["message_thread_id"] = note.message_id
        note.raw["is_topic_message"] = True
        chat.topics[note.message_id] = name
        chat.topic_creators[note.message_id] = self.bot.id
        result = {"message_thread_id": note.message_id, "name": name, "icon_color": icon_color}
        if p.get("icon_custom_emoji_id"):
            result["icon_custom_emoji_id"] = p["icon_custom_emoji_id"]
        return result

    def _m_edit_topic(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat, thread = self._managed_topic(p)
        edited: JSON = {}
        name = p.get("name")
        if name is not None:
            name = str(name)
            if not 1 <= len(name) <= 128:
                raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
            if name != chat.topics[thread]:
                edited["name"] = name
        if p.get("icon_custom_emoji_id") is not None:
            edited["icon_custom_emoji_id"] = str(p["icon_custom_emoji_id"])
        if not edited:
            raise bad_request("TOPIC_NOT_MODIFIED")
        chat.topics[thread] = edited.get("name", chat.topics[thread])
        self._topic_note(chat, thread, {"forum_topic_edited": edited}, "editForumTopic")
        return True

    def _m_close_topic(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat, thread = self._managed_topic(p)
        if thread in chat.closed_topics:
            raise bad_request("TOPIC_NOT_MODIFIED")
        chat.closed_topics.add(thread)
        self._topic_note(chat, thread, {"forum_topic_closed": {}}, "closeForumTopic")
        return True

    def _m_reopen_topic(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat, thread = self._managed_topic(p)
        if thread not in chat.closed_topics:
            raise bad_request("TOPIC_NOT_MODIFIED")
        chat.closed_topics.discard(thread)
        self._topic_note(chat, thread, {"forum_topic_reopened": {}}, "reopenForumTopic")
        return True

    def _m_delete_topic(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._forum(p)
        if not self._bot_right(chat, "can_delete_messages"):
            raise bad_request("not enough rights to delete a topic")
        thread = _as_int(p.get("message_thread_id"), "message_thread_id")
        if thread not in chat.topics:
            raise bad_request("message thread not found")
        self.delete_topic(chat.id, thread)
        return True

    def _api_pins_topics(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "pinChatMessage": self._m_pin,
            "unpinChatMessage": self._m_unpin,
            "unpinAllChatMessages": self._m_unpin_all,
            "createForumTopic": self._m_create_topic,
            "editForumTopic": self._m_edit_topic,
            "closeForumTopic": self._m_close_topic,
            "reopenForumTopic": self._m_reopen_topic,
            "deleteForumTopic": self._m_delete_topic,
        }
        return table
