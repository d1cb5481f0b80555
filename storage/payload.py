"""What an outbox row asks the drainer to do, as frozen dataclasses with one JSON codec.

`bot/` builds a `Payload` (what to send, what it replies to, which tip thread it joins, what to
enqueue next), `storage/outbox.py` stores it with `to_json` and reads it back with `from_json`,
and `bot/delivery.py` carries it out. Typing it lets mypy check every producer and the drainer
against one definition, instead of a language of string keys known only to a docstring.

The JSON is the shape rows had before these classes existed (keys left out when they hold their
default), so pending rows written by an earlier version are read unchanged after an upgrade, and
rows written now are still readable by that version. `from_json` checks types and ignores keys
it does not know; a row it cannot read raises `PayloadError` (see storage.outbox).

A content (`contents`) stays the small JSON dict documented in bot.content: it is the wire
format of one Telegram message and is passed to Telegram as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Content = dict[str, Any]  # one outgoing message, see bot.content


class PayloadError(ValueError):
    """A stored payload that is not one this version can carry out."""


@dataclass(frozen=True)
class JoinThread:
    """The sent messages join tip `tip_id`'s thread in `role` (card, relayed, notice…), so a
    Telegram reply to any of them finds the tip."""

    tip_id: int
    role: str


@dataclass(frozen=True)
class Payload:
    """One delivery: its messages and what happens around them.

    `reply_to` is a message id in the row's chat; `reply_to_card` a tip id whose card (looked up
    when the row is sent) the messages reply to. `set_card` records the first sent message as
    the tip's card. `then` is enqueued after success, `on_unreachable` when the recipient blocked
    the bot, `on_failed` when the row finally failed.
    """

    contents: tuple[Content, ...]
    reply_to: int | None = None
    reply_to_card: int | None = None
    link: JoinThread | None = None
    set_card: bool = False
    then: tuple[FollowUp, ...] = ()
    on_unreachable: tuple[FollowUp, ...] = ()
    on_failed: tuple[FollowUp, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    """A delivery enqueued by its parent row's outcome. Chat, lane and priority default to the
    parent's (None); `reply_to_parent` replies to the parent's first sent message;
    `append_reason` adds the parent's failure reason to the last content's text; a
    `dedupe_key` makes it one row however many parents enqueue it (one 👍 for a reply that
    reaches several residents)."""

    kind: str
    payload: Payload
    chat_id: int | None = None
    lane: str | None = None
    priority: int | None = None
    reply_to_parent: bool = False
    append_reason: bool = False
    dedupe_key: str | None = None


def to_json(payload: Payload) -> str:
    return json.dumps(_dump(payload))


@lru_cache(maxsize=512)
def from_json(text: str) -> Payload:
    """The payload a row's JSON holds. Cached by its text: a broadcast's thousands of rows carry
    a few texts, and a Payload is frozen (its contents are only ever read once built)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PayloadError(f"not JSON: {error}") from None
    return _load(data)


def _dump(payload: Payload) -> dict[str, Any]:
    data: dict[str, Any] = {"contents": list(payload.contents)}
    if payload.reply_to is not None:
        data["reply_to"] = payload.reply_to
    if payload.reply_to_card is not None:
        data["reply_to_card"] = payload.reply_to_card
    if payload.link is not None:
        data["link"] = {"tip_id": payload.link.tip_id, "role": payload.link.role}
    if payload.set_card:
        data["set_card"] = True
    for key, children in (
        ("then", payload.then),
        ("on_unreachable", payload.on_unreachable),
        ("on_failed", payload.on_failed),
    ):
        if children:
            data[key] = [_dump_follow_up(child) for child in children]
    return data


def _dump_follow_up(child: FollowUp) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": child.kind, "payload": _dump(child.payload)}
    for key, value in (
        ("chat_id", child.chat_id),
        ("lane", child.lane),
        ("dedupe_key", child.dedupe_key),
    ):
        if value is not None:
            data[key] = value
    if child.priority is not None:
        data["priority"] = child.priority
    if child.reply_to_parent:
        data["reply_to_parent"] = True
    if child.append_reason:
        data["append_reason"] = True
    return data


def _load(data: object) -> Payload:
    if not isinstance(data, dict):
        raise PayloadError(f"a payload is an object, not {type(data).__name__}")
    contents = data.get("contents")
    if not isinstance(contents, list) or not all(
        isinstance(c, dict) and isinstance(c.get("type"), str) for c in contents
    ):
        raise PayloadError("contents must be a list of objects with a type")
    raw_link = data.get("link")
    link = None
    if raw_link is not None:
        if not isinstance(raw_link, dict):
            raise PayloadError("link must be an object")
        link = JoinThread(_int(raw_link, "tip_id"), _str(raw_link, "role"))
    return Payload(
        contents=tuple(contents),
        reply_to=_optional_int(data, "reply_to"),
        reply_to_card=_optional_int(data, "reply_to_card"),
        link=link,
        set_card=_flag(data, "set_card"),
        then=_follow_ups(data, "then"),
        on_unreachable=_follow_ups(data, "on_unreachable"),
        on_failed=_follow_ups(data, "on_failed"),
    )


def _follow_ups(data: dict[str, Any], key: str) -> tuple[FollowUp, ...]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise PayloadError(f"{key} must be a list of objects")
    return tuple(
        FollowUp(
            kind=_str(item, "kind"),
            payload=_load(item.get("payload")),
            chat_id=_optional_int(item, "chat_id"),
            lane=_optional_str(item, "lane"),
            priority=_optional_int(item, "priority"),
            reply_to_parent=_flag(item, "reply_to_parent"),
            append_reason=_flag(item, "append_reason"),
            dedupe_key=_optional_str(item, "dedupe_key"),
        )
        for item in items
    )


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{key} must be a whole number, not {value!r}")
    return value


def _int(data: dict[str, Any], key: str) -> int:
    value = _optional_int(data, key)
    if value is None:
        raise PayloadError(f"{key} is missing")
    return value


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise PayloadError(f"{key} must be text, not {value!r}")
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = _optional_str(data, key)
    if value is None:
        raise PayloadError(f"{key} is missing")
    return value


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise PayloadError(f"{key} must be true or false, not {value!r}")
    return value
