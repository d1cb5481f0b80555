"""Editing and deleting the bot's messages, with Telegram's "not modified" rule."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import NOT_MODIFIED, bad_request
from .wire import JSON, Handler, _Upload
from .world import Chat, EmuMessage


class EditMethods:
    """editMessage* and deleteMessage(s)."""

    def _editable(self, p: JSON) -> tuple[Chat, EmuMessage]:
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._readable_chat(p.get("chat_id"))
        msg = self._find_message(chat, p, "message to edit not found")
        if msg.from_id != self.bot.id or msg.is_service:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(self, msg: EmuMessage, changes: JSON, removals: Iterable[str]) -> JSON:
        for key in removals:
            msg.raw.pop(key, None)
        msg.raw.update(changes)
        msg.raw["edit_date"] = int(self.now())
        msg.edit_count += 1
        self._changed()
        return msg.to_json()

    def _m_edit_text(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        _, msg = self._editable(p)
        content = self._text_content(p)
        markup, _ = self._markup(p, inline_only=True)
        if "text" not in msg.raw:
            raise bad_request("there is no text in the message to edit")
        same = (
            content["text"] == msg.raw.get("text")
            and content.get("entities", []) == msg.raw.get("entities", [])
            and markup == msg.raw.get("reply_markup")
        )
        if same:
            raise bad_request(NOT_MODIFIED)
        removals = ["entities", "reply_markup", "link_preview_options"]
        if markup is not None:
            content["reply_markup"] = markup
        return self._apply_edit(msg, content, removals)

    def _m_edit_caption(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        _, msg = self._editable(p)
        if not msg.has_media or msg.location or msg.contact or msg.poll or msg.sticker:
            raise bad_request("there is no caption in the message to edit")
        content = self._caption_content(p)
        markup, _ = self._markup(p, inline_only=True)
        same = (
            content.get("caption") == msg.raw.get("caption")
            and content.get("caption_entities", []) == msg.raw.get("caption_entities", [])
            and markup == msg.raw.get("reply_markup")
        )
        if same:
            raise bad_request(NOT_MODIFIED)
        if markup is not None:
            content["reply_markup"] = markup
        return self._apply_edit(msg, content, ["caption", "caption_entities", "reply_markup"])

    def _m_edit_markup(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        _, msg = self._editable(p)
        markup, _ = self._markup(p, inline_only=True)
        if markup == msg.raw.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        changes = {"reply_markup": markup} if markup is not None else {}
        return self._apply_edit(msg, changes, ["reply_markup"])

    def _can_delete(self, chat: Chat, msg: EmuMessage) -> bool:
        if chat.is_private or msg.from_id == self.bot.id:
            return True
        return self._bot_right(chat, "can_delete_messages")

    def _m_delete_message(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        msg = self._find_message(chat, p, "message to delete not found")
        if not self._can_delete(chat, msg):
            raise bad_request("message can't be deleted")
        msg.deleted = True
        self._changed()
        return True

    def _m_delete_messages(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        for raw in ids:
            msg = chat.messages.get(int(raw))
            if msg is not None and not msg.deleted and self._can_delete(chat, msg):
                msg.deleted = True
        self._changed()
        return True

    def _api_edit(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "editMessageText": self._m_edit_text,
            "editMessageCaption": self._m_edit_caption,
            "editMessageReplyMarkup": self._m_edit_markup,
            "deleteMessage": self._m_delete_message,
            "deleteMessages": self._m_delete_messages,
        }
        return table
