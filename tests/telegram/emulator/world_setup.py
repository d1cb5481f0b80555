"""Staging the world: users, groups, memberships, blocks, migrations, deleted topics.

What tests arrange before (or while) the bot runs; membership changes emit the
``chat_member``/``my_chat_member`` updates Telegram would send.
"""

from __future__ import annotations

from collections.abc import Mapping

from .wire import JSON
from .world import MEMBER_STATUSES, Chat, Member, User


class WorldSetupMixin:
    """Creates and changes users, chats and memberships."""

    def add_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> User:
        """A new human account; their private chat with the bot exists but is not started."""
        user = User(next(self._user_ids), first_name, last_name, username, language_code)
        self.users[user.id] = user
        self._private(user)
        return user

    def _private(self, user: User) -> Chat:
        chat = self.chats.get(user.id)
        if chat is None:
            chat = Chat(id=user.id, type="private", user=user)
            chat.next_message_id = 1 + 100 * next(self._chat_ordinal)
            self.chats[user.id] = chat
        return chat

    def add_group(
        self,
        title: str,
        type: str = "supergroup",  # Telegram's word
        members: Mapping[int | User, str] | None = None,
        bot_status: str = "administrator",
        *,
        is_forum: bool = False,
        username: str | None = None,
    ) -> int:
        """A group/supergroup with members (user id or User → status); returns its chat id."""
        if type not in ("group", "supergroup"):
            raise ValueError("type must be 'group' or 'supergroup'")
        number = next(self._group_ids)
        chat_id = (
            -(1_000_000_000_000 + 1_000_000 + number) if type == "supergroup" else -(4000 + number)
        )
        chat = Chat(id=chat_id, type=type, title=title, username=username, is_forum=is_forum)
        chat.next_message_id = 1 + 100 * next(self._chat_ordinal)
        if is_forum:
            _keep_general(chat)
        chat.bot_status = bot_status
        for key, status in (members or {}).items():
            uid = key.id if isinstance(key, User) else int(key)
            self._check_status(status)
            chat.members[uid] = Member(status)
        self.chats[chat_id] = chat
        self._changed()
        return chat_id

    @staticmethod
    def _check_status(status: str) -> None:
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown member status {status!r}; use one of {MEMBER_STATUSES}")

    def chat(self, chat_id: int) -> Chat:
        """The chat object (raises KeyError for unknown ids)."""
        return self.chats[chat_id]

    def set_member(
        self,
        chat_id: int,
        user: int | User,
        status: str,
        *,
        rights: JSON | None = None,
        actor: int | User | None = None,
    ) -> JSON | None:
        """Change a user's membership; emits ``chat_member`` (bot must be admin, and the
        poller must ask for it in allowed_updates). Returns the update, if one was created."""
        self._check_status(status)
        chat = self.chats[chat_id]
        target = self._user(user)
        old = chat.members.get(target.id, Member("left"))
        new = Member(status, dict(rights or {}))
        chat.members[target.id] = new
        if actor is not None:
            who = self._user(actor)
        elif status in ("member", "left"):
            who = target
        else:
            owner = next((uid for uid, m in chat.members.items() if m.status == "creator"), None)
            who = self.users.get(owner, target) if owner is not None else target
        self._changed()
        if chat.bot_status not in ("administrator", "creator"):
            return None
        return self._emit(
            "chat_member",
            {
                "chat": chat.short(),
                "from": who.as_dict(),
                "date": int(self.now()),
                "old_chat_member": self._member_json(chat, target.as_dict(), old),
                "new_chat_member": self._member_json(chat, target.as_dict(), new),
            },
        )

    def set_bot_member(
        self,
        chat_id: int,
        status: str,
        *,
        actor: int | User | None = None,
        rights: JSON | None = None,
    ) -> JSON | None:
        """Change the bot's own membership in a group; emits ``my_chat_member``."""
        self._check_status(status)
        chat = self.chats[chat_id]
        old = Member(chat.bot_status, dict(chat.bot_rights))
        chat.bot_status = status
        chat.bot_rights = dict(rights or {})
        if actor is not None:
            who = self._user(actor).as_dict()
        else:
            owner = next((uid for uid, m in chat.members.items() if m.status == "creator"), None)
            who = self.users[owner].as_dict() if owner in self.users else self.bot.as_dict()
        return self._emit_my_member(chat, who, old, Member(status, dict(rights or {})))

    def _emit_my_member(self, chat: Chat, who: JSON, old: Member, new: Member) -> JSON | None:
        self._changed()
        return self._emit(
            "my_chat_member",
            {
                "chat": chat.short(),
                "from": who,
                "date": int(self.now()),
                "old_chat_member": self._member_json(chat, self.bot.as_dict(), old),
                "new_chat_member": self._member_json(chat, self.bot.as_dict(), new),
            },
        )

    def block_bot(self, user: int | User) -> JSON | None:
        """The user blocks the bot: sends get 403, and a ``my_chat_member`` (kicked) arrives."""
        person = self._user(user)
        chat = self._private(person)
        if chat.blocked:
            return None
        chat.blocked = True
        return self._emit_my_member(chat, person.as_dict(), Member("member"), Member("kicked"))

    def unblock_bot(self, user: int | User) -> JSON | None:
        """The user unblocks the bot (``my_chat_member`` back to member)."""
        person = self._user(user)
        chat = self._private(person)
        if not chat.blocked:
            return None
        chat.blocked = False
        return self._emit_my_member(chat, person.as_dict(), Member("kicked"), Member("member"))

    def deactivate_user(self, user: int | User) -> None:
        """The account is deleted: sends get ``403 Forbidden: user is deactivated``."""
        self._private(self._user(user)).deactivated = True
        self._changed()

    def migrate_group(self, chat_id: int) -> int:
        """Upgrade a basic group to a supergroup; the old id then answers 400 + migrate_to."""
        old = self.chats[chat_id]
        if old.type != "group":
            raise ValueError("only basic groups migrate")
        new_id = self.add_group(old.title or "", "supergroup", bot_status=old.bot_status)
        new = self.chats[new_id]
        new.members = {uid: Member(m.status, dict(m.rights)) for uid, m in old.members.items()}
        old.migrated_to = new_id
        owner = next((uid for uid, m in old.members.items() if m.status == "creator"), None)
        sender = self.users[owner].as_dict() if owner in self.users else self.bot.as_dict()
        note = self._store(old, sender, {"migrate_to_chat_id": new_id}, service=True)
        self._emit("message", note.to_json())
        first = self._store(new, sender, {"migrate_from_chat_id": chat_id}, service=True)
        self._emit("message", first.to_json())
        return new_id

    def set_forum(self, chat_id: int, on: bool = True) -> None:
        """An administrator turns topics on (or off) in a supergroup's settings. Telegram sends
        no update for it: messages from the chat carry the new ``is_forum`` from then on."""
        chat = self.chats[chat_id]
        if chat.type != "supergroup":
            raise ValueError("only supergroups have topics")
        chat.is_forum = on
        if on:
            _keep_general(chat)
        self._changed()

    def user_creates_topic(self, user: int | User, chat_id: int, name: str) -> int:
        """A member opens a topic of their own in a forum; returns its thread id."""
        chat = self.chats[chat_id]
        if not chat.is_forum:
            raise ValueError("topics exist only in forums")
        person = self._user(user)
        note = self._store(
            chat,
            person.as_dict(),
            {"forum_topic_created": {"name": name, "icon_color": 7322096}},
            service=True,
        )
        note.raw["message_thread_id"] = note.message_id
        note.raw["is_topic_message"] = True
        chat.topics[note.message_id] = name
        chat.topic_creators[note.message_id] = person.id
        if self._bot_sees(chat, note):
            self._emit("message", note.to_json())
        return note.message_id

    def user_closes_topic(self, user: int | User, chat_id: int, message_thread_id: int) -> None:
        """An officer closes a topic by hand (a service message the bot sees as an update)."""
        chat = self.chats[chat_id]
        chat.closed_topics.add(message_thread_id)
        note = self._store(
            chat,
            self._user(user).as_dict(),
            {"forum_topic_closed": {}},
            thread=message_thread_id,
            service=True,
        )
        if self._bot_sees(chat, note):
            self._emit("message", note.to_json())

    def delete_topic(self, chat_id: int, message_thread_id: int) -> None:
        """Someone deletes a forum topic: its messages vanish, sends into it fail."""
        chat = self.chats[chat_id]
        chat.topics.pop(message_thread_id, None)
        chat.closed_topics.discard(message_thread_id)
        chat.topic_creators.pop(message_thread_id, None)
        for msg in chat.messages.values():
            if msg.message_thread_id == message_thread_id or msg.message_id == message_thread_id:
                msg.deleted = True
        self._changed()

    def _user(self, user: int | User) -> User:
        if isinstance(user, User):
            return user
        if user == self.bot.id:
            return self.bot
        return self.users[int(user)]


def _keep_general(chat: Chat) -> None:
    """In a forum, thread id 1 is the General topic (the group's first message): no topic or
    message of ours may take it."""
    if chat.next_message_id == 1:
        chat.next_message_id = 2
