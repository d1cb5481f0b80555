"""The world the emulator keeps: users, chats, memberships, messages and files.

Plain data with Telegram's JSON views; what changes them lives in the mixins.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .entities import utf16_slice
from .wire import JSON

MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")


# What a group's members may do by default (ChatPermissions), also a restricted member's rights.
DEFAULT_PERMISSIONS: dict[str, bool] = {
    "can_send_messages": True,
    "can_send_audios": True,
    "can_send_documents": True,
    "can_send_photos": True,
    "can_send_videos": True,
    "can_send_video_notes": True,
    "can_send_voice_notes": True,
    "can_send_polls": True,
    "can_send_other_messages": True,
    "can_add_web_page_previews": True,
    "can_change_info": False,
    "can_invite_users": True,
    "can_pin_messages": False,
    "can_manage_topics": False,
}


@dataclass(frozen=True)
class User:
    """A Telegram account (a human, or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def as_dict(self) -> JSON:
        """Telegram's User JSON."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass
class StoredFile:
    """A file known to the emulator: bytes plus the JSON Telegram shows for it."""

    file_id: str
    file_unique_id: str
    kind: str  # photo | video | voice | audio | document | animation | sticker
    data: bytes
    meta: JSON
    file_path: str
    group: list[str] = field(default_factory=list)  # photo: all sizes' file_ids, small→large

    def as_json(self) -> JSON:
        body: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        body.update(self.meta)
        body["file_size"] = len(self.data)
        return body


@dataclass
class Member:
    """A user's membership in a group: status plus optional rights overrides."""

    status: str
    rights: JSON = field(default_factory=dict)


class EmuMessage:
    """A stored message (a user's or the bot's), live: edits show up, deletion sets ``deleted``.

    ``raw`` is the Telegram JSON; the properties are conveniences for assertions.
    """

    def __init__(self, chat: Chat, raw: JSON, reply_to: int | None) -> None:
        self._chat = chat
        self.raw = raw
        self.chat_id: int = chat.id
        self.reply_to_message_id: int | None = reply_to
        self.deleted = False
        self.is_service = False
        self.keyboard: JSON | None = None  # reply keyboard / remove / force_reply sent with it
        self.edit_count = 0
        self.method: str | None = None  # the Bot API method that created it (bot messages)
        self.copied_from: tuple[int, int] | None = None  # (chat_id, message_id) for copies

    # --- identity -------------------------------------------------------------------------
    @property
    def message_id(self) -> int:
        return int(self.raw["message_id"])

    @property
    def date(self) -> int:
        return int(self.raw["date"])

    @property
    def from_id(self) -> int | None:
        sender = self.raw.get("from")
        return int(sender["id"]) if sender else None

    @property
    def from_bot(self) -> bool:
        sender = self.raw.get("from")
        return bool(sender and sender.get("is_bot"))

    # --- content --------------------------------------------------------------------------
    @property
    def text(self) -> str | None:
        return self.raw.get("text")

    @property
    def caption(self) -> str | None:
        return self.raw.get("caption")

    @property
    def body(self) -> str:
        """Text or caption, whichever the message has ("" if neither)."""
        return self.raw.get("text") or self.raw.get("caption") or ""

    @property
    def entities(self) -> list[JSON]:
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    def entity_texts(self, kind: str) -> list[str]:
        """The substrings covered by entities of ``kind`` (e.g. "bold")."""
        return [
            utf16_slice(self.body, e["offset"], e["length"])
            for e in self.entities
            if e["type"] == kind
        ]

    @property
    def photo(self) -> list[JSON] | None:
        return self.raw.get("photo")

    @property
    def video(self) -> JSON | None:
        return self.raw.get("video")

    @property
    def voice(self) -> JSON | None:
        return self.raw.get("voice")

    @property
    def audio(self) -> JSON | None:
        return self.raw.get("audio")

    @property
    def document(self) -> JSON | None:
        return self.raw.get("document")

    @property
    def animation(self) -> JSON | None:
        return self.raw.get("animation")

    @property
    def sticker(self) -> JSON | None:
        return self.raw.get("sticker")

    @property
    def location(self) -> JSON | None:
        return self.raw.get("location")

    @property
    def venue(self) -> JSON | None:
        return self.raw.get("venue")

    @property
    def contact(self) -> JSON | None:
        return self.raw.get("contact")

    @property
    def poll(self) -> JSON | None:
        return self.raw.get("poll")

    @property
    def has_media(self) -> bool:
        return any(self.raw.get(k) for k in _MEDIA_KEYS)

    @property
    def file_id(self) -> str | None:
        """The main file's id (largest photo size for photos)."""
        if self.photo:
            return str(self.photo[-1]["file_id"])
        for key in ("video", "voice", "audio", "document", "animation", "sticker", "video_note"):
            if self.raw.get(key):
                return str(self.raw[key]["file_id"])
        return None

    @property
    def media_group_id(self) -> str | None:
        return self.raw.get("media_group_id")

    @property
    def message_thread_id(self) -> int | None:
        return self.raw.get("message_thread_id")

    @property
    def forward_origin(self) -> JSON | None:
        return self.raw.get("forward_origin")

    @property
    def reply_markup(self) -> JSON | None:
        return self.raw.get("reply_markup")

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons flattened as (text, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            (str(b.get("text")), b.get("callback_data", b.get("url"))) for row in rows for b in row
        ]

    @property
    def button_rows(self) -> list[list[tuple[str, str | None]]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [(str(b.get("text")), b.get("callback_data", b.get("url"))) for b in r] for r in rows
        ]

    @property
    def edited(self) -> bool:
        return "edit_date" in self.raw

    def to_json(self, with_reply: bool = True) -> JSON:
        """Telegram JSON now; ``reply_to_message`` is included one level deep."""
        data = copy.deepcopy(self.raw)
        if with_reply and self.reply_to_message_id is not None:
            target = self._chat.messages.get(self.reply_to_message_id)
            if target is not None and not target.deleted:
                data["reply_to_message"] = target.to_json(with_reply=False)
        return data

    def content(self) -> JSON:
        """The copyable content (what copyMessage/forwardMessage carry over)."""
        return {k: copy.deepcopy(v) for k, v in self.raw.items() if k in _CONTENT_KEYS}

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else f"user {self.from_id}"
        kinds = [k for k in _MEDIA_KEYS if self.raw.get(k)]
        extra = f" {kinds}" if kinds else ""
        gone = " deleted" if self.deleted else ""
        return f"<EmuMessage {self.chat_id}/{self.message_id} {who}{extra} {self.body!r}{gone}>"


_MEDIA_KEYS = (
    "photo",
    "video",
    "voice",
    "audio",
    "document",
    "animation",
    "sticker",
    "video_note",
    "location",
    "venue",
    "contact",
    "poll",
)


_CONTENT_KEYS = frozenset(
    {
        "text",
        "entities",
        "caption",
        "caption_entities",
        "show_caption_above_media",
        "has_media_spoiler",
        "link_preview_options",
        *_MEDIA_KEYS,
    }
)


@dataclass
class Chat:
    """A private chat, group or supergroup and everything in it."""

    id: int
    type: str
    title: str | None = None
    user: User | None = None  # private chats
    username: str | None = None
    is_forum: bool = False
    members: dict[int, Member] = field(default_factory=dict)
    bot_status: str = "member"
    bot_rights: JSON = field(default_factory=dict)
    messages: dict[int, EmuMessage] = field(default_factory=dict)
    next_message_id: int = 1
    started: bool = False  # private: the user wrote to the bot at least once
    blocked: bool = False  # private: the user blocked the bot
    deactivated: bool = False
    migrated_to: int | None = None
    topics: dict[int, str] = field(default_factory=dict)  # forum topics: thread id → name
    closed_topics: set[int] = field(default_factory=set)
    topic_creators: dict[int, int] = field(default_factory=dict)  # thread id → user id
    pinned: list[int] = field(default_factory=list)

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def short(self) -> JSON:
        """Telegram's (short) Chat JSON embedded in messages."""
        if self.user is not None:
            data = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        data = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data


class _UsersJson(Mapping[int, JSON]):
    def __init__(self, users: Mapping[int, User]) -> None:
        self._users = users

    def __getitem__(self, user_id: int) -> JSON:
        return self._users[user_id].as_dict()

    def __iter__(self) -> Iterator[int]:
        return iter(self._users)

    def __len__(self) -> int:
        return len(self._users)
