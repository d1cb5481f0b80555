"""What humans do: send, edit, tap buttons, post albums; each becomes an update.

Privacy mode decides which group messages the bot sees, as on Telegram.
"""

from __future__ import annotations

from .entities import finalize_text
from .observation import _Query
from .wire import JSON
from .world import Chat, EmuMessage, User


class HumansMixin:
    """user_sends, user_edits, user_taps, album and the bot's visibility rule."""

    def user_sends(
        self,
        user: int | User,
        chat_id: int | None = None,
        text: str | None = None,
        *,
        photo: bool = False,
        video: bool = False,
        voice: bool = False,
        audio: bool = False,
        document: bool = False,
        animation: bool = False,
        sticker: bool = False,
        contact: bool = False,
        poll: bool = False,
        location: tuple[float, float] | None = None,
        venue: tuple[float, float, str, str] | JSON | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
        reply_to: int | EmuMessage | None = None,
        entities: list[JSON] | None = None,
        forward_from: int | User | str | None = None,
        message_thread_id: int | None = None,
        file_name: str | None = None,
    ) -> EmuMessage:
        """A human sends a message; enqueues a ``message`` update (if the bot may see it).

        Text starting with "/" gets a ``bot_command`` entity. Media get realistic file objects
        whose bytes ``getFile`` serves. ``venue`` is (lat, lon, title, address).
        """
        person = self._user(user)
        chat = self._chat_for_user(person, chat_id)
        content: JSON = {}
        if text is not None:
            body, ents = finalize_text(text, entities or [], detect=entities is None)
            content["text"] = body
            if ents:
                content["entities"] = ents
        if photo:
            content["photo"] = self._new_photo(seed=f"user-photo-{person.id}")
        for flag, kind in (
            (video, "video"),
            (voice, "voice"),
            (audio, "audio"),
            (document, "document"),
            (animation, "animation"),
            (sticker, "sticker"),
        ):
            if flag:
                stored = self._new_file(kind, None, filename=file_name)
                content[kind] = stored.as_json()
        if contact:
            content["contact"] = {
                "phone_number": "+15551234567",
                "first_name": person.first_name,
                "user_id": person.id,
            }
        if poll:
            content["poll"] = self._poll_json("Is it safe?", ["Yes", "No"])
        if location is not None:
            content["location"] = {"latitude": float(location[0]), "longitude": float(location[1])}
        if venue is not None:
            content["venue"] = self._venue_json(venue)
            content["location"] = dict(content["venue"]["location"])
        if caption is not None:
            body, ents = finalize_text(caption, [])
            if body:
                content["caption"] = body
                if ents:
                    content["caption_entities"] = ents
        if not content:
            raise ValueError("user_sends needs text or some content")
        forward_origin = None
        if forward_from is not None:
            if isinstance(forward_from, str):
                forward_origin = {
                    "type": "hidden_user",
                    "sender_user_name": forward_from,
                    "date": int(self.now()) - 3600,
                }
            else:
                forward_origin = {
                    "type": "user",
                    "sender_user": self._user(forward_from).as_dict(),
                    "date": int(self.now()) - 3600,
                }
        reply_id = reply_to.message_id if isinstance(reply_to, EmuMessage) else reply_to
        if reply_id is not None and reply_id not in chat.messages:
            raise ValueError(f"no message {reply_id} in chat {chat.id} to reply to")
        msg = self._store(
            chat,
            person.as_dict(),
            content,
            reply_to=reply_id,
            thread=message_thread_id,
            media_group_id=media_group_id,
            forward_origin=forward_origin,
        )
        if self._bot_sees(chat, msg):
            self._emit("message", msg.to_json())
        return msg

    def user_starts(self, user: int | User, payload: str | None = None) -> EmuMessage:
        """The user presses Start (optionally from a deep link with ``payload``)."""
        return self.user_sends(user, text="/start" + (f" {payload}" if payload else ""))

    def user_edits(
        self, user: int | User, chat_id: int | None, message_id: int, text: str
    ) -> EmuMessage:
        """A human edits their text message; emits ``edited_message``."""
        person = self._user(user)
        chat = self._chat_for_user(person, chat_id)
        msg = chat.messages[message_id]
        if msg.from_id != person.id:
            raise ValueError("users can only edit their own messages")
        body, ents = finalize_text(text, [])
        key = "text" if "text" in msg.raw else "caption"
        msg.raw[key] = body
        ents_key = "entities" if key == "text" else "caption_entities"
        if ents:
            msg.raw[ents_key] = ents
        else:
            msg.raw.pop(ents_key, None)
        msg.raw["edit_date"] = int(self.now())
        msg.edit_count += 1
        self._changed()
        if self._bot_sees(chat, msg):
            self._emit("edited_message", msg.to_json())
        return msg

    def user_taps(
        self,
        user: int | User,
        message_id: int | EmuMessage | None,
        chat_id: int | None = None,
        callback_data: str | None = None,
    ) -> str:
        """A human presses an inline button; returns the callback query id.

        Any data can be sent (forged taps); a missing message arrives as inaccessible.
        """
        person = self._user(user)
        if isinstance(message_id, EmuMessage):
            chat_id = message_id.chat_id if chat_id is None else chat_id
            message_id = message_id.message_id
        chat = self.chats[chat_id if chat_id is not None else person.id]
        qid = f"{person.id}{next(self._query_ids):06d}"
        payload: JSON = {
            "id": qid,
            "from": person.as_dict(),
            "chat_instance": str((abs(chat.id) * 1_000_003) % 10**18),
        }
        if message_id is not None:
            msg = chat.messages.get(message_id)
            if msg is not None and not msg.deleted:
                payload["message"] = msg.to_json()
            else:
                payload["message"] = {"chat": chat.short(), "message_id": message_id, "date": 0}
        if callback_data is not None:
            payload["data"] = callback_data
        self._queries[qid] = _Query(
            qid, person.id, chat.id, message_id, callback_data, self.clock()
        )
        if chat.is_private:
            chat.started = True
        self._emit("callback_query", payload)
        return qid

    def album(
        self,
        user: int | User,
        chat_id: int | None = None,
        n: int = 3,
        caption: str | None = None,
        kind: str = "photo",
        reply_to: int | EmuMessage | None = None,
    ) -> list[EmuMessage]:
        """``n`` messages sharing a media_group_id, caption on the first (as Telegram does)."""
        group_id = self._new_album_id()
        out = []
        for index in range(n):
            flags = {kind: True}
            out.append(
                self.user_sends(
                    user,
                    chat_id,
                    caption=caption if index == 0 else None,
                    media_group_id=group_id,
                    reply_to=reply_to,
                    **flags,  # type: ignore[arg-type]
                )
            )
        return out

    def _chat_for_user(self, person: User, chat_id: int | None) -> Chat:
        if chat_id is None or chat_id == person.id:
            chat = self._private(person)
            if chat.blocked:
                self.unblock_bot(person)
            chat.started = True
            return chat
        # Membership is not checked: a message from someone who is not (or no longer) a
        # member stages the race where they wrote just before leaving; getChatMember tells.
        return self.chats[chat_id]

    def _bot_sees(self, chat: Chat, msg: EmuMessage) -> bool:
        if chat.is_private:
            return True
        if chat.bot_status in ("left", "kicked"):
            return False
        if not self.privacy_mode or chat.bot_status in ("administrator", "creator"):
            return True
        body = msg.body
        if body.startswith("/"):
            command = body.split()[0]
            return (
                "@" not in command or command.split("@", 1)[1].lower() == self.bot_username.lower()
            )
        if msg.reply_to_message_id is not None:
            target = chat.messages.get(msg.reply_to_message_id)
            if target is not None and target.from_id == self.bot.id:
                return True
        return f"@{self.bot_username}".lower() in body.lower()
