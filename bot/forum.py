"""Forum topics: when the officer chat is a forum, each tip gets a topic of its own.

In a forum supergroup a tip's card, map pin, media, follow-ups and the notes under officers'
replies go into its topic ("#42 · Suspicious vehicle · White van parked…"), and anything an
officer writes there is relayed to the resident (handlers/officers.py). The name mirrors the
status with a mark in front ("✅ #42 · …"), and the topic is closed while the tip is resolved
or spam. Chat-wide things stay in General: surge lists, the stale list, /tips.

**Forum mode comes from Telegram**, never from a setting: getChat's `is_forum` at start, then
the `is_forum` of the chat in every update from the officer chat. A group can turn topics on
or off at any time and Telegram sends no update for that; the next message anybody writes
there (a command, a reply, a button press) carries the new value. A refusal "the chat is not
a forum" says it too.

**A topic is created once.** Its creation is a step of the card's outbox row (content
`{"type": "topic"}`, before the card), so a surge lists a card and its topic together and a
listed tip gets its topic when an officer opens it. The step claims the creation in storage
before asking Telegram and records the thread id after. A step that finds the claim still
open (the bot was killed while it waited for Telegram, or Telegram never answered) does not
ask again: the Bot API cannot list topics, so an unanswered creation may have made one, and a
second would be a duplicate. That tip is then handled in General, as without topics. A
restart after the thread id was recorded finds it and posts the card there.

This module holds what is decided without Telegram (the mode, a topic's name and state); the
calls are in bot/forum_sending.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import content
from bot.categories import CATEGORIES
from bot.i18n import plain
from storage import Store
from storage.models import CLOSED, Tip

TOPIC_STEP = "topic"
NAME_LIMIT = 128  # Telegram's limit for a topic name
WORDS = 40  # characters of the resident's description in the name
URGENT_MARK = "🚨 "
MARKS = {"new": "", "acknowledged": "👀 ", "taken": "🙋 ", "resolved": "✅ ", "spam": "🚫 "}
# Telegram's topic colours (set at creation only): red for urgent tips, blue for the rest.
URGENT_COLOR = 0xFB6F5F
ORDINARY_COLOR = 0x6FB9F0


@dataclass
class ForumMode:
    """Whether the officer chat is a forum now, as Telegram last said (start: getChat)."""

    on: bool = False

    def observe(self, is_forum: bool) -> bool:
        """Record what an update or an answer said; True when it changed."""
        changed = is_forum != self.on
        self.on = is_forum
        return changed


@dataclass(frozen=True)
class TopicLook:
    """What a tip's topic should show: its name (plain text), closed or not, its colour."""

    name: str
    closed: bool
    color: int


def look(tip: Tip, language: str) -> TopicLook:
    """The topic as the tip's status says it should be. Plain text: Telegram shows topic names
    as typed (no HTML), so the resident's words are not escaped here."""
    mark = URGENT_MARK if tip.urgent and tip.status == "new" else MARKS.get(tip.status, "")
    category = plain(language, CATEGORIES.get(tip.category, CATEGORIES["other"]))
    name = mark + plain(language, "forum.topic_name", ref=tip.id, category=category)
    words = content.first_words(tip.description or "", WORDS)
    if words:
        name += " · " + words
    color = URGENT_COLOR if tip.urgent else ORDINARY_COLOR
    return TopicLook(name[:NAME_LIMIT], tip.status in CLOSED, color)


def topic_step(tip_id: int) -> content.Content:
    """The content that opens the tip's topic (once) before its card is sent."""
    return {"type": TOPIC_STEP, "tip_id": tip_id}


def has_topic_step(contents: tuple[content.Content, ...]) -> bool:
    return any(item["type"] == TOPIC_STEP for item in contents)


async def topic_of(store: Store, tip_id: int, mode: ForumMode) -> int | None:
    """The tip's topic (thread id) while the officer chat is a forum; None otherwise."""
    if not mode.on:
        return None
    async with store.read() as tx:
        tip = await tx.tips.get(tip_id)
    return tip.topic_id if tip is not None else None
