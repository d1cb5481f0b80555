"""Copying and forwarding messages, one or many (albums keep a shared media_group_id)."""

from __future__ import annotations

import copy

from .errors import bad_request
from .wire import JSON, Handler, _Upload
from .world import Chat, EmuMessage


class CopyMethods:
    """copyMessage(s) and forwardMessage(s)."""

    def _copy_one(
        self,
        method: str,
        p: JSON,
        source_chat: Chat,
        source: EmuMessage,
        *,
        forward: bool,
        group_map: dict[str, str] | None = None,
    ) -> EmuMessage:
        if source.is_service:
            raise bad_request(
                "message can't be copied" if not forward else "message can't be forwarded"
            )
        content = source.content()
        if "poll" in content:
            content["poll"] = dict(content["poll"], id=f"{5_000_000_000 + next(self._file_ids)}")
        origin = None
        if forward:
            origin = source.forward_origin or {
                "type": "user",
                "sender_user": copy.deepcopy(source.raw.get("from")),
                "date": source.date,
            }
        elif "caption" in p and source.has_media:
            for key in ("caption", "caption_entities", "show_caption_above_media"):
                content.pop(key, None)
            content.update(self._caption_content(p))
        elif p.get("remove_caption"):
            content.pop("caption", None)
            content.pop("caption_entities", None)
        chat = self._writable_chat(p)
        thread = self._thread(chat, p)
        reply_to = self._reply_target(chat, p) if not forward else None
        markup, keyboard = self._markup(p) if not forward else (None, None)
        group_id = None
        if group_map is not None and source.media_group_id:
            group_id = group_map.setdefault(source.media_group_id, self._new_album_id())
        self._spend(chat, 1, bool(p.get("allow_paid_broadcast")))
        msg = self._store(
            chat,
            self.bot.as_dict(),
            content,
            reply_to=reply_to,
            thread=thread,
            markup=markup,
            keyboard=keyboard,
            forward_origin=origin,
            media_group_id=group_id,
            method=method,
            protect=bool(p.get("protect_content")),
        )
        msg.copied_from = (source_chat.id, source.message_id)
        return msg

    def _m_copy_message(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        source_chat = self._readable_chat(p.get("from_chat_id"), "from_chat_id")
        self._writable_chat(p)
        source = self._find_message(source_chat, p, "message to copy not found")
        msg = self._copy_one("copyMessage", p, source_chat, source, forward=False)
        return {"message_id": msg.message_id}

    def _m_forward_message(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        source_chat = self._readable_chat(p.get("from_chat_id"), "from_chat_id")
        self._writable_chat(p)
        source = self._find_message(source_chat, p, "message to forward not found")
        return self._copy_one("forwardMessage", p, source_chat, source, forward=True).to_json()

    def _bulk(self, method: str, p: JSON, forward: bool) -> list[JSON]:
        source_chat = self._readable_chat(p.get("from_chat_id"), "from_chat_id")
        self._writable_chat(p)
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not ids or len(ids) > 100:
            raise bad_request("message identifiers are not specified")
        found = [
            source_chat.messages[int(mid)]
            for mid in sorted({int(x) for x in ids})
            if int(mid) in source_chat.messages
            and not source_chat.messages[int(mid)].deleted
            and not source_chat.messages[int(mid)].is_service
        ]
        if not found:
            raise bad_request(f"message to {'forward' if forward else 'copy'} not found")
        groups: dict[str, str] = {}
        return [
            {
                "message_id": self._copy_one(
                    method, p, source_chat, m, forward=forward, group_map=groups
                ).message_id
            }
            for m in found
        ]

    def _m_copy_messages(self, p: JSON, f: dict[str, _Upload]) -> list[JSON]:
        return self._bulk("copyMessages", p, forward=False)

    def _m_forward_messages(self, p: JSON, f: dict[str, _Upload]) -> list[JSON]:
        return self._bulk("forwardMessages", p, forward=True)

    def _api_copy(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "copyMessage": self._m_copy_message,
            "copyMessages": self._m_copy_messages,
            "forwardMessage": self._m_forward_message,
            "forwardMessages": self._m_forward_messages,
        }
        return table
