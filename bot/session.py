"""What the bot remembers about one person between their updates: typed, in one place.

python-telegram-bot keeps a `user_data` object per user and hands it to every handler; we
register `Session` as its type (`ContextTypes(user_data=Session)` in bot/app.py, the pattern of
PTB's contexttypesbot example), so handlers read `context.session.report` instead of string
keys, and mypy checks every field. PTB creates a session by calling the class with no
arguments, so every field has a default.

Sessions are persisted (bot/persistence.py) as JSON in the shape the string-keyed dict had
before this class existed: the same keys, drafts as the same nested objects. `from_dict` reads
a row written by any earlier version, so a report or wizard in progress survives an upgrade;
keys it does not know are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.event_draft import EventDraft
from bot.tips import Draft

QUICK_KEEP = 5  # plain texts kept for a quick tip offer; older offers go stale


@dataclass
class BroadcastDraft:
    """An officer's /broadcast being written: the message that gave its text, then its kind."""

    id: int | None = None  # the officer's message holding the text; binds the buttons to it
    text: str | None = None
    photo: str | None = None  # file id
    kind: str | None = None  # "alert" or "announcement", once chosen

    def to_dict(self) -> dict[str, Any]:
        """{} when just started; the text, its message and photo (null when none) together."""
        data: dict[str, Any] = {}
        if self.text is not None:
            data.update(id=self.id, text=self.text, photo=self.photo)
        if self.kind is not None:
            data["kind"] = self.kind
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BroadcastDraft:
        return cls(
            id=data.get("id"), text=data.get("text"), photo=data.get("photo"), kind=data.get("kind")
        )


@dataclass
class LostPrompt:
    """A step's prompt Telegram kept refusing: repeated at the person's next message."""

    chat: int
    text: str
    markup: dict[str, Any] | None = None  # the reply markup as Bot API JSON
    force_reply: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "chat": self.chat,
            "text": self.text,
            "markup": self.markup,
            "force_reply": self.force_reply,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LostPrompt:
        return cls(
            chat=int(data["chat"]),
            text=str(data["text"]),
            markup=data.get("markup"),
            force_reply=bool(data.get("force_reply")),
        )


@dataclass
class Session:
    """One person's state between updates. None (or empty) means "not in that mode"."""

    lang: str | None = None  # chosen or detected language; None until the first update
    report: Draft | None = None  # the /report (or quick tip) being written
    quick: dict[int, str] = field(default_factory=dict)  # texts offered as quick tips, by id
    adding_to: int | None = None  # "Add information to #N" chosen in /mytips
    adding_group: str | None = None  # the album whose first item went to a tip…
    adding_group_tip: int | None = None  # …and that tip, so the rest of the album follows
    broadcast: BroadcastDraft | None = None  # an officer's /broadcast
    event: EventDraft | None = None  # an officer's /newevent
    event_move: int | None = None  # the event whose new time an officer is asked for
    lost_prompt: LostPrompt | None = None
    erasing: int | None = None  # the /deleteme question awaiting Erase or Keep (its command's id)

    def keep_quick(self, message_id: int, text: str) -> None:
        """Remember a text offered as a quick tip; only the latest few offers stay valid."""
        self.quick[message_id] = text
        for old in sorted(self.quick)[:-QUICK_KEEP]:
            del self.quick[old]

    def to_dict(self) -> dict[str, Any]:
        """The JSON kept between restarts: only the fields in use, under their old keys."""
        data: dict[str, Any] = {}
        if self.lang is not None:
            data["lang"] = self.lang
        if self.report is not None:
            data["draft"] = self.report.to_dict()
        if self.quick:
            data["quick"] = {str(mid): text for mid, text in self.quick.items()}
        for key in ("adding_to", "adding_group", "adding_group_tip", "event_move", "erasing"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.broadcast is not None:
            data["broadcast"] = self.broadcast.to_dict()
        if self.event is not None:
            data["event"] = self.event.to_dict()
        if self.lost_prompt is not None:
            data["lost_prompt"] = self.lost_prompt.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        def number(key: str) -> int | None:
            value = data.get(key)
            return int(value) if value is not None else None

        def nested(key: str) -> dict[str, Any] | None:
            value = data.get(key)
            return value if isinstance(value, dict) else None

        report, broadcast = nested("draft"), nested("broadcast")
        event, lost = nested("event"), nested("lost_prompt")
        group = data.get("adding_group")
        return cls(
            lang=str(data["lang"]) if data.get("lang") is not None else None,
            report=Draft.from_dict(report) if report is not None else None,
            quick={int(mid): str(text) for mid, text in (nested("quick") or {}).items()},
            adding_to=number("adding_to"),
            adding_group=str(group) if group is not None else None,
            adding_group_tip=number("adding_group_tip"),
            broadcast=BroadcastDraft.from_dict(broadcast) if broadcast is not None else None,
            event=EventDraft.from_dict(event) if event is not None else None,
            event_move=number("event_move"),
            lost_prompt=LostPrompt.from_dict(lost) if lost is not None else None,
            erasing=number("erasing"),
        )
