"""One codec for callback data: every button kind declared once, built and parsed here.

A kind is a prefix, typed fields, and whether only officers may press it. `build()` writes the
wire string, `parse()` reads it back into a small frozen dataclass, or None for anything we did
not issue (forged, too long, a number out of range or written with other digits than ASCII:
numbers go through bot/numbers.py). `pattern` is the anchored regex for CallbackQueryHandler,
and `for_officers()` is what the officer gate asks of any press.

The wire strings are exactly those issued before this module existed ("ev:going:12",
"grp:ok:-100…", "rate:12:5"), so buttons already sitting in chats keep working. Telegram allows
64 bytes of callback data; every kind here stays far below (the longest, a broadcast button,
is about 40).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Generic, TypeVar

from bot.categories import CATEGORIES
from bot.config import SUPPORTED_LANGUAGES
from bot.numbers import MAX_ID, parse_chat_id, parse_int
from storage.models import TOPICS

LIMIT = 64  # bytes, Telegram's limit for callback data
T = TypeVar("T")


@dataclass(frozen=True)
class Field:
    """One part of the data after the prefix: how it looks, and how it is read."""

    regex: str
    read: Callable[[str], object | None]


def number(*, high: int = MAX_ID) -> Field:
    """A positive id (ASCII digits, 1..high)."""
    return Field("[0-9]{1,16}", lambda raw: parse_int(raw, high=high))


def chat_id() -> Field:
    """A Telegram chat id: groups are negative."""
    return Field("-?[0-9]{1,16}", parse_chat_id)


def choice(*values: str) -> Field:
    """One of a fixed set of words."""
    allowed = frozenset(values)
    regex = "|".join(re.escape(value) for value in values)
    return Field(f"(?:{regex})", lambda raw: raw if raw in allowed else None)


def word() -> Field:
    """A short lowercase word checked by its handler against a table this module cannot
    import (the safety library's topics live in bot/broadcasts.py, which builds buttons)."""
    return Field("[a-z_]{1,24}", lambda raw: raw)


@dataclass(frozen=True)
class Ref:
    id: int


@dataclass(frozen=True)
class Choice:
    choice: str


@dataclass(frozen=True)
class ChoiceRef:
    choice: str
    id: int


@dataclass(frozen=True)
class GroupDecision:
    action: str
    chat_id: int


@dataclass(frozen=True)
class DraftChoice:
    """A broadcast wizard's button, bound to its author and to the message of its draft."""

    choice: str
    author: int
    draft: int


@dataclass(frozen=True)
class Rating:
    event_id: int
    stars: int


@dataclass(frozen=True)
class MergeInto:
    """Merge tip `tip_id` into `into`, the tip its duplicate hint names (bot/merge.py)."""

    tip_id: int
    into: int


@dataclass(frozen=True)
class TipRating:
    tip_id: int
    stars: int


class Kind(Generic[T]):
    def __init__(self, prefix: str, make: Callable[..., T], *parts: Field, officer: bool) -> None:
        self.prefix = prefix
        self.make = make
        self.parts = parts
        self.officer = officer
        groups = "".join(f":({part.regex})" for part in parts)
        self.pattern = f"^{re.escape(prefix)}{groups}$"
        self._regex = re.compile(self.pattern)
        # Every press of this kind, usable or not, for a handler that answers forged ones itself.
        self.loose = f"^{re.escape(prefix)}:"

    def pattern_with(self, *firsts: str) -> str:
        """The pattern with its first field narrowed to some of its words: one handler for
        "ne:skip", another for "ne:announce" and "ne:save"."""
        alternatives = "|".join(re.escape(first) for first in firsts)
        rest = "".join(f":({part.regex})" for part in self.parts[1:])
        return f"^{re.escape(self.prefix)}:({alternatives}){rest}$"

    def build(self, value: T) -> str:
        names = [f.name for f in fields(value)]  # type: ignore[arg-type]
        data = ":".join([self.prefix, *(str(getattr(value, name)) for name in names)])
        if len(data.encode()) > LIMIT or self.parse(data) != value:
            raise ValueError(f"callback data {data!r} does not read back as {value!r}")
        return data

    def parse(self, data: str | None) -> T | None:
        if data is None or len(data.encode()) > LIMIT:
            return None
        match = self._regex.fullmatch(data)
        if match is None:
            return None
        values = [part.read(raw) for part, raw in zip(self.parts, match.groups(), strict=True)]
        if any(value is None for value in values):
            return None
        return self.make(*values)


KINDS: list[Kind[object]] = []


def _kind(prefix: str, make: Callable[..., T], *parts: Field, officer: bool) -> Kind[T]:
    kind = Kind(prefix, make, *parts, officer=officer)
    KINDS.append(kind)  # type: ignore[arg-type]
    return kind


# Officers' buttons (only in the officer chat, only for its members: see handlers/gate.py).
OPEN = _kind("open", Ref, number(), officer=True)  # a tip listed during a surge
EVENT_CARD = _kind("evo", ChoiceRef, choice("time", "announce", "cancel"), number(), officer=True)
EVENT_CANCEL = _kind("evc", ChoiceRef, choice("yes", "no"), number(), officer=True)
GROUP = _kind("grp", GroupDecision, choice("ok", "leave"), chat_id(), officer=True)
BROADCAST_KIND = _kind("bk", DraftChoice, choice("alert", "ann"), number(), number(), officer=True)
BROADCAST_SEND = _kind("bs", DraftChoice, choice("yes", "no"), number(), number(), officer=True)
DESK_ACTIONS = ("ack", "take", "resolve", "spam", "reopen")
DESK = _kind("desk", ChoiceRef, choice(*DESK_ACTIONS), number(), officer=True)  # tip triage
MERGE = _kind("merge", MergeInto, number(), number(), officer=True)  # a possible duplicate
UNMERGE = _kind("unmerge", Ref, number(), officer=True)
NEW_EVENT = _kind("ne", Choice, choice("skip", "announce", "save", "cancel"), officer=True)

# Residents' buttons.
RSVP = _kind("ev", ChoiceRef, choice("going", "maybe", "no", "ics"), number(), officer=False)
RATE = _kind("rate", Rating, number(), number(high=5), officer=False)
TIP_RATE = _kind("tr", TipRating, number(), number(high=5), officer=False)  # a resolved tip
ADD_TO_TIP = _kind("add", Ref, number(), officer=False)
QUICK_YES = _kind("quick", Ref, number(), officer=False)
QUICK_NO = _kind("quickno", Ref, number(), officer=False)
ALERT_INFO = _kind("info", Ref, number(), officer=False)  # "I have information"
MENU = _kind("menu", Choice, choice("report"), officer=False)
CATEGORY = _kind("cat", Choice, choice(*CATEGORIES), officer=False)
DESCRIPTION = _kind("desc", Choice, choice("skip"), officer=False)
WHERE = _kind("where", Choice, choice("skip"), officer=False)
MEDIA = _kind("media", Choice, choice("done"), officer=False)
ANONYMITY = _kind("anon", Choice, choice("yes", "no"), officer=False)
SEND = _kind("send", Choice, choice("yes", "no"), officer=False)
SAFETY_TOPIC = _kind("safety", Choice, word(), officer=False)
TRENDS = _kind("trends", Choice, choice("show"), officer=False)  # /trends, from /safety
SUBSCRIPTION = _kind("sub", Choice, choice(*TOPICS), officer=False)
SETTINGS = _kind("set", Choice, choice("lang"), officer=False)
OPT_IN = _kind("optin", Choice, choice("1", "0"), officer=False)
LANGUAGE = _kind("lang", Choice, choice(*SUPPORTED_LANGUAGES), officer=False)
# /deleteme's answer, bound to the question it answers (the id of the /deleteme message).
ERASE = _kind("erase", ChoiceRef, choice("yes", "no"), number(), officer=False)

OFFICER_PREFIXES = frozenset(kind.prefix for kind in KINDS if kind.officer)


def for_officers(data: str | None) -> bool:
    """Whether a press is of an officer's kind (by its prefix alone, so forged officer data
    is refused by the gate like real data)."""
    prefix, colon, _ = (data or "").partition(":")
    return bool(colon) and prefix in OFFICER_PREFIXES
