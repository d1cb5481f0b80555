"""Building and storing the bot's messages: text, captions, keyboards, the common send tail."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from .entities import utf16_len
from .errors import bad_request
from .formatting import format_text
from .wire import JSON
from .world import Chat, EmuMessage, _UsersJson


class ComposeMixin:
    """Validates content and markup, stores messages, spends the flood budget."""

    def _markup(self, p: JSON, inline_only: bool = False) -> tuple[JSON | None, JSON | None]:
        """(inline markup for the message JSON, other keyboard) after validation."""
        markup = p.get("reply_markup")
        if markup in (None, ""):
            return None, None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            for row in rows:
                for button in row:
                    _check_inline_button(button)
            if not any(rows):
                return None, None
            return copy.deepcopy(markup), None
        if inline_only:
            raise bad_request("inline keyboard expected")
        if not ({"keyboard", "remove_keyboard", "force_reply"} & markup.keys()):
            raise bad_request('can\'t find field "inline_keyboard"')
        return None, copy.deepcopy(markup)

    def _users_json(self) -> Mapping[int, JSON]:
        """Users as Telegram JSON, converted only when a text mention needs one (a copy of
        every user per message made big broadcasts slow down with the user count)."""
        return _UsersJson(self.users)

    def _text_content(self, p: JSON) -> JSON:
        raw = p.get("text")
        if raw is None or raw == "":
            raise bad_request("message text is empty")
        text, ents = format_text(
            str(raw), p.get("parse_mode"), p.get("entities"), self._users_json()
        )
        if not text:
            raise bad_request("message text is empty")
        if utf16_len(text) > 4096:
            raise bad_request("message is too long")
        content: JSON = {"text": text}
        if ents:
            content["entities"] = ents
        if isinstance(p.get("link_preview_options"), dict):
            content["link_preview_options"] = p["link_preview_options"]
        return content

    def _caption_content(self, p: JSON) -> JSON:
        raw = p.get("caption")
        if raw is None or raw == "":
            return {}
        text, ents = format_text(
            str(raw), p.get("parse_mode"), p.get("caption_entities"), self._users_json()
        )
        if utf16_len(text) > 1024:
            raise bad_request("message caption is too long")
        content: JSON = {}
        if text:
            content["caption"] = text
            if ents:
                content["caption_entities"] = ents
        if p.get("show_caption_above_media"):
            content["show_caption_above_media"] = True
        return content

    def _store(
        self,
        chat: Chat,
        sender: JSON,
        content: JSON,
        *,
        reply_to: int | None = None,
        thread: int | None = None,
        markup: JSON | None = None,
        keyboard: JSON | None = None,
        media_group_id: str | None = None,
        forward_origin: JSON | None = None,
        method: str | None = None,
        protect: bool = False,
        service: bool = False,
    ) -> EmuMessage:
        if chat.is_forum:
            thread, reply_to = _in_topic(chat, thread, reply_to)
        mid = chat.next_message_id
        chat.next_message_id += 1
        raw: JSON = {
            "message_id": mid,
            "from": sender,
            "chat": chat.short(),
            "date": int(self.now()),
        }
        if thread is not None:
            raw["message_thread_id"] = thread
            if chat.is_forum:
                raw["is_topic_message"] = True
        if forward_origin is not None:
            raw["forward_origin"] = forward_origin
        if media_group_id is not None:
            raw["media_group_id"] = media_group_id
        if protect:
            raw["has_protected_content"] = True
        raw.update(content)
        if markup is not None:
            raw["reply_markup"] = markup
        msg = EmuMessage(chat, raw, reply_to)
        msg.keyboard = keyboard
        msg.method = method
        msg.is_service = service
        chat.messages[mid] = msg
        self._changed()
        return msg

    def _send(self, method: str, p: JSON, content: JSON, count_as: int = 1) -> EmuMessage:
        """Common tail of every send: chat, thread, reply, markup, limits, store."""
        chat = self._writable_chat(p)
        thread = self._thread(chat, p)
        reply_to = self._reply_target(chat, p)
        markup, keyboard = self._markup(p)
        self._spend(chat, count_as, bool(p.get("allow_paid_broadcast")))
        return self._store(
            chat,
            self.bot.as_dict(),
            content,
            reply_to=reply_to,
            thread=thread,
            markup=markup,
            keyboard=keyboard,
            method=method,
            protect=bool(p.get("protect_content")),
        )


def _in_topic(
    chat: Chat, thread: int | None, reply_to: int | None
) -> tuple[int | None, int | None]:
    """Where a message lands in a forum, as Telegram does it: a reply joins the topic of the
    message it answers, and a message in a topic that answers nothing else replies to the
    topic's creation message (its thread root: "reply_to_message" is that service message)."""
    if thread is None and reply_to is not None:
        target = chat.messages.get(reply_to)
        if target is not None and target.raw.get("is_topic_message"):
            thread = target.message_thread_id
    if thread is not None and thread != 1 and reply_to is None:
        root = chat.messages.get(thread)
        if root is not None and not root.deleted:
            reply_to = thread
    return thread, reply_to


_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not any(key in button for key in _BUTTON_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = str(button["url"])
        if not re.match(r"^(https?|tg)://\S+$", url, re.IGNORECASE):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
