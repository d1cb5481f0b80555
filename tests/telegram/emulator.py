"""A Telegram Bot API emulator for Porchlight's tests and benchmarks.

Why: PTB must be exercised through its real HTTP path (request encoding, ``de_json``, error
mapping) without the internet. :class:`BotApiEmulator` is an aiohttp server on 127.0.0.1 that
speaks the Bot API wire format; point an unmodified PTB ``Bot``/``Application`` at it with
``base_url=f"{emu.url}/bot"`` and ``base_file_url=f"{emu.url}/file/bot"``.

It keeps a small world (users, private chats, groups, messages, files), turns what humans do
(``user_sends``, ``user_taps`` ...) into updates served by ``getUpdates``, implements the methods
the bot uses with Telegram's validation and error wording, and lets tests inject faults
(``fail_next``, ``hold``, ``latency``, optional rate limits) and observe everything (``calls``,
``messages``, ``callback_answers`` ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import math
import random
import re
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram.constants import ReactionEmoji

JSON = dict[str, Any]

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
_REACTION_EMOJI = frozenset(e.value for e in ReactionEmoji)


class ApiError(Exception):
    """A Bot API failure, answered as ``{"ok": false, "error_code", "description"}``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    """400 with Telegram's ``Bad Request: `` prefix."""
    return ApiError(400, f"Bad Request: {description}")


def forbidden(description: str) -> ApiError:
    """403 with Telegram's ``Forbidden: `` prefix."""
    return ApiError(403, f"Forbidden: {description}")


# --------------------------------------------------------------------------------------------
# UTF-16 helpers: Telegram measures offsets, lengths and limits in UTF-16 code units.
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring an entity (offset/length in UTF-16 units) covers."""
    raw = text.encode("utf-16-le")
    return raw[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def _u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_error(message: str) -> ApiError:
    return bad_request(f"can't parse entities: {message}")


# --------------------------------------------------------------------------------------------
# Formatting: HTML, MarkdownV2 and legacy Markdown, modelled on TDLib's parsers.
# --------------------------------------------------------------------------------------------

_SPACES = " \t\r\n\v\f\0"
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_HTML = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TG_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.IGNORECASE)


@dataclass
class _Open:
    tag: str
    arg: str
    offset: int  # UTF-16 offset in the result
    begin: int  # index in the result char list
    byte: int  # byte offset of the opening token in the source


def _html_entity(text: str, i: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``text[i]``; None means the ``&`` is taken literally (as TDLib)."""
    n = len(text)
    j = i + 1
    if j < n and text[j] == "#":
        j += 1
        base = 10
        if j < n and text[j] in "xX":
            base = 16
            j += 1
        start = j
        digits = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
        while j < n and text[j] in digits:
            j += 1
        if j == start or j >= n or text[j] != ";":
            return None
        code = int(text[start:j], base)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), j + 1
    start = j
    while j < n and text[j].isascii() and text[j].isalpha():
        j += 1
    if j >= n or text[j] != ";":
        return None
    value = _HTML_NAMED.get(text[start:j])
    if value is None:
        return None
    return value, j + 1


def _link_entity(offset: int, length: int, url: str, users: Mapping[int, JSON]) -> JSON | None:
    match = _TG_USER_LINK.match(url)
    if match:
        user = users.get(int(match.group(1)))
        if user is None:
            return None
        return {"type": "text_mention", "offset": offset, "length": length, "user": user}
    if not url or any(ch in _SPACES for ch in url):
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


def parse_html(text: str, users: Mapping[int, JSON] | None = None) -> tuple[str, list[JSON]]:
    """Parse Telegram's HTML subset into plain text and entities (TDLib's rules and wording)."""
    users = users or {}
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    stack: list[_Open] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _html_entity(text, i)
            if decoded is not None:
                ch, i = decoded
                out.append(ch)
                u16 += _u16(ch)
                continue
        if c != "<":
            out.append(c)
            u16 += _u16(c)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise _parse_error(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            j = i + 1
            while j < n and text[j] not in _SPACES and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j].lower()
            while j < n and text[j] in _SPACES:
                j += 1
            if j >= n or text[j] != ">":
                raise _parse_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            top = stack.pop()
            if end_name and end_name != top.tag:
                raise _parse_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, expected "
                    f'"</{top.tag}>", found "</{end_name}>"'
                )
            i = j + 1
            if u16 > top.offset:
                _close_html(top, u16, out, entities, users)
            continue
        j = i
        while j < n and text[j] not in _SPACES and text[j] != ">":
            j += 1
        if j >= n:
            raise _parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[i:j].lower()
        if tag not in _HTML_TAGS:
            raise _parse_error(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        i = j
        arg = ""
        while True:
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n:
                raise _parse_error(
                    f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            if text[i] == ">":
                break
            attr_begin = i
            while i < n and text[i] not in _SPACES and text[i] not in "=>":
                i += 1
            attr = text[attr_begin:i].lower()
            if not attr:
                raise _parse_error(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attr == "expandable":
                    arg = "expandable"
                    continue
                raise _parse_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" at '
                    f"byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n:
                raise _parse_error(
                    f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            if text[i] not in "'\"":
                token_begin = i
                while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                    i += 1
                value = text[token_begin:i].lower()
                if i >= n or (text[i] not in _SPACES and text[i] != ">"):
                    raise _parse_error(
                        "Unexpected end of name token at byte offset "
                        f"{_byte_offset(text, token_begin)}"
                    )
            else:
                quote = text[i]
                i += 1
                chars: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = _html_entity(text, i)
                        if decoded is not None:
                            chars.append(decoded[0])
                            i = decoded[1]
                            continue
                    chars.append(text[i])
                    i += 1
                if i < n:
                    i += 1
                value = "".join(chars)
            if i >= n:
                raise _parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if tag == "a" and attr == "href":
                arg = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                arg = value[9:]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                arg = value[3:]
            elif tag == "tg-emoji" and attr == "emoji-id":
                arg = value
        i += 1  # the '>'
        if tag == "span" and arg != "spoiler":
            raise _parse_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append(_Open(tag, arg, u16, len(out), _byte_offset(text, begin)))
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    for entity in entities:
        entity.pop("_lang", None)
    return "".join(out), entities


def _close_html(
    top: _Open, u16: int, out: list[str], entities: list[JSON], users: Mapping[int, JSON]
) -> None:
    offset, length = top.offset, u16 - top.offset
    if top.tag in _SIMPLE_HTML:
        entities.append({"type": _SIMPLE_HTML[top.tag], "offset": offset, "length": length})
    elif top.tag == "a":
        url = top.arg or "".join(out[top.begin :])
        link = _link_entity(offset, length, url, users)
        if link is not None:
            entities.append(link)
    elif top.tag == "tg-emoji":
        if top.arg:
            entities.append(
                {
                    "type": "custom_emoji",
                    "offset": offset,
                    "length": length,
                    "custom_emoji_id": top.arg,
                }
            )
    elif top.tag == "blockquote":
        kind = "expandable_blockquote" if top.arg == "expandable" else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif top.tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
            and last.get("_lang")
        ):
            entities[-1] = {
                "type": "pre",
                "offset": offset,
                "length": length,
                "language": last["_lang"],
            }
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif top.tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and last["offset"] == offset
            and last["length"] == length
            and top.arg
        ):
            last["language"] = top.arg
        else:
            entity: JSON = {"type": "code", "offset": offset, "length": length}
            if top.arg:
                entity["_lang"] = top.arg
            entities.append(entity)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MD_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "code": "Code",
    "pre": "Pre",
}


def parse_markdown_v2(text: str, users: Mapping[int, JSON] | None = None) -> tuple[str, list[JSON]]:
    """Parse MarkdownV2 (TDLib's rules): reserved characters must be escaped outside entities."""
    users = users or {}
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    stack: list[_Open] = []
    quote_start: int | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "\\" and nxt and 0 < ord(nxt) <= 126:
            out.append(nxt)
            u16 += 1
            i += 2
            continue
        in_code = bool(stack) and stack[-1].tag in ("code", "pre")
        if c == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = u16
            i += 1
            continue
        reserved = "`" if in_code else _MDV2_RESERVED
        if c not in reserved:
            if c == "\n" and quote_start is not None and nxt != ">":
                if u16 > quote_start:
                    entities.append(
                        {"type": "blockquote", "offset": quote_start, "length": u16 - quote_start}
                    )
                quote_start = None
            out.append(c)
            u16 += _u16(c)
            i += 1
            continue
        top = stack[-1].tag if stack else None
        is_end = (
            (top == "bold" and c == "*")
            or (top == "italic" and c == "_" and nxt != "_")
            or (top == "code" and c == "`")
            or (top == "pre" and c == "`" and text[i + 1 : i + 3] == "``")
            or (top in ("text_link", "custom_emoji") and c == "]")
            or (top == "underline" and c == "_" and nxt == "_")
            or (top == "strikethrough" and c == "~")
            or (top == "spoiler" and c == "|" and nxt == "|")
        )
        if not is_end:
            start_byte = _byte_offset(text, i)
            arg = ""
            if c == "_" and nxt == "_":
                tag, i = "underline", i + 2
            elif c == "_":
                tag, i = "italic", i + 1
            elif c == "*":
                tag, i = "bold", i + 1
            elif c == "~":
                tag, i = "strikethrough", i + 1
            elif c == "|" and nxt == "|":
                tag, i = "spoiler", i + 2
            elif c == "[":
                tag, i = "text_link", i + 1
            elif c == "!" and nxt == "[":
                tag, i = "custom_emoji", i + 2
            elif c == "`" and text[i + 1 : i + 3] == "``":
                tag, i = "pre", i + 3
                j = i
                while j < n and text[j] not in _SPACES and text[j] != "`":
                    j += 1
                if i != j and j < n and text[j] != "`":
                    arg, i = text[i:j], j
                if i < n and text[i] in "\r\n":
                    two = i + 1 < n and text[i + 1] in "\r\n" and text[i] != text[i + 1]
                    i += 2 if two else 1
            elif c == "`":
                tag, i = "code", i + 1
            else:
                raise _parse_error(
                    f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append(_Open(tag, arg, u16, len(out), start_byte))
            continue
        opened = stack.pop()
        offset, length = opened.offset, u16 - opened.offset
        entity: JSON | None = None
        if opened.tag in ("bold", "italic", "code", "strikethrough"):
            i += 1
            entity = {"type": opened.tag, "offset": offset, "length": length}
        elif opened.tag in ("underline", "spoiler"):
            i += 2
            entity = {"type": opened.tag, "offset": offset, "length": length}
        elif opened.tag == "pre":
            i += 3
            entity = {"type": "pre", "offset": offset, "length": length}
            if opened.arg:
                entity["language"] = opened.arg
        else:
            j = i + 1
            if j < n and text[j] == "(":
                j += 1
                url_begin = j
                url_chars: list[str] = []
                while j < n and text[j] != ")":
                    if text[j] == "\\" and j + 1 < n and 0 < ord(text[j + 1]) <= 126:
                        url_chars.append(text[j + 1])
                        j += 2
                        continue
                    url_chars.append(text[j])
                    j += 1
                if j >= n:
                    raise _parse_error(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                    )
                url = "".join(url_chars)
                i = j + 1
            else:
                if opened.tag == "custom_emoji":
                    raise _parse_error("Custom emoji entity must contain a tg://emoji URL")
                url = "".join(out[opened.begin :])
                i += 1
            if opened.tag == "custom_emoji":
                emoji_id = url.split("id=", 1)[-1]
                entity = {
                    "type": "custom_emoji",
                    "offset": offset,
                    "length": length,
                    "custom_emoji_id": emoji_id,
                }
            else:
                entity = _link_entity(offset, length, url, users)
        if entity is not None and length > 0:
            entities.append(entity)
    if stack:
        top_open = stack[-1]
        raise _parse_error(
            f"Can't find end of {_MD_TYPE_NAMES[top_open.tag]} entity at byte offset "
            f"{top_open.byte}"
        )
    if quote_start is not None and u16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": u16 - quote_start})
    return "".join(out), entities


def parse_markdown(text: str, users: Mapping[int, JSON] | None = None) -> tuple[str, list[JSON]]:
    """Parse legacy Markdown (no nesting; ``_ * ` [`` open entities)."""
    users = users or {}
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            u16 += _u16(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = False
        language = ""
        i += 1
        if c == "`" and text[i : i + 2] == "``":
            i += 2
            is_pre = True
            j = i
            while j < n and text[j] not in _SPACES and text[j] != "`":
                j += 1
            if i != j and j < n and text[j] != "`":
                language, i = text[i:j], j
            if i < n and text[i] in "\r\n":
                two = i + 1 < n and text[i + 1] in "\r\n" and text[i] != text[i + 1]
                i += 2 if two else 1
        offset = u16
        inner_begin = len(out)
        while i < n and (text[i] != end_char or (is_pre and text[i + 1 : i + 3] != "``")):
            out.append(text[i])
            u16 += _u16(text[i])
            i += 1
        if i >= n:
            raise _parse_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        length = u16 - offset
        if c == "[":
            inner = "".join(out[inner_begin:])
            if i + 1 < n and text[i + 1] == "(":
                j = i + 2
                while j < n and text[j] != ")":
                    j += 1
                url = text[i + 2 : j]
                i = j
            else:
                url = inner
            if length:
                link = _link_entity(offset, length, url, users)
                if link is not None:
                    entities.append(link)
        elif length:
            if c == "_":
                entities.append({"type": "italic", "offset": offset, "length": length})
            elif c == "*":
                entities.append({"type": "bold", "offset": offset, "length": length})
            elif is_pre:
                pre: JSON = {"type": "pre", "offset": offset, "length": length}
                if language:
                    pre["language"] = language
                entities.append(pre)
            else:
                entities.append({"type": "code", "offset": offset, "length": length})
        i += 3 if is_pre else 1
    return "".join(out), entities


_AUTO_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"(?<![\w@/.])https?://[^\s<>\"]*[^\s<>\"'.,;:!?)\]]")),
    ("email", re.compile(r"(?<![\w.@+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")),
)
_FORMATTING = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
    }
)
_TRIM = " \t\n\r\v\f"


def auto_entities(text: str, existing: Iterable[JSON] = ()) -> list[JSON]:
    """Entities Telegram detects by itself (urls, emails, /commands, @mentions, #hashtags)."""
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + _u16(ch))
    taken = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] not in _FORMATTING
    ]
    found: list[JSON] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start, end = prefix[match.start()], prefix[match.end()]
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return found


def finalize_text(text: str, entities: list[JSON], detect: bool = True) -> tuple[str, list[JSON]]:
    """Trim surrounding whitespace (shifting entities), drop empty ones, add detected ones."""
    stripped = text.strip(_TRIM)
    lead = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    total = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(int(entity["offset"]) - lead, 0)
        end = min(int(entity["offset"]) + int(entity["length"]) - lead, total)
        if end <= start:
            continue
        moved = dict(entity, offset=start, length=end - start)
        if moved["type"] in _FORMATTING and not utf16_slice(stripped, start, end - start).strip():
            continue
        kept.append(moved)
    if detect:
        kept.extend(auto_entities(stripped, kept))
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, kept


def format_text(
    text: str,
    parse_mode: str | None,
    entities: Any = None,
    users: Mapping[int, JSON] | None = None,
) -> tuple[str, list[JSON]]:
    """Apply a parse mode (or explicit entities) and Telegram's normalisation."""
    if isinstance(entities, list) and entities:
        parsed_text, parsed = text, [dict(e) for e in entities if isinstance(e, dict)]
        for entity in parsed:
            if not {"type", "offset", "length"} <= entity.keys():
                raise bad_request("can't parse entities: entity is invalid")
    elif not parse_mode:
        parsed_text, parsed = text, []
    else:
        mode = str(parse_mode).lower()
        if mode == "html":
            parsed_text, parsed = parse_html(text, users)
        elif mode == "markdownv2":
            parsed_text, parsed = parse_markdown_v2(text, users)
        elif mode == "markdown":
            parsed_text, parsed = parse_markdown(text, users)
        else:
            raise bad_request("unsupported parse_mode")
    return finalize_text(parsed_text, parsed)


# --------------------------------------------------------------------------------------------
# The world: users, chats, messages, files.
# --------------------------------------------------------------------------------------------


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


@dataclass
class CallbackAnswer:
    """What the bot answered to a callback query."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass
class CallRecord:
    """One Bot API call as the emulator answered it."""

    method: str
    params: JSON
    ok: bool
    error: str | None
    error_code: int | None
    result: Any
    t: float

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    def __repr__(self) -> str:
        status = "ok" if self.ok else f"{self.error_code} {self.error}"
        brief = {k: v for k, v in self.params.items() if k in _BRIEF_KEYS}
        return f"<{self.method} {brief} -> {status}>"


_BRIEF_KEYS = (
    "chat_id",
    "from_chat_id",
    "message_id",
    "message_thread_id",
    "callback_query_id",
    "text",
    "caption",
    "offset",
)


@dataclass
class _Query:
    id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    created: float


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


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
    topics: dict[int, str] = field(default_factory=dict)
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


class Hold:
    """Blocks matching requests (unanswered, unrecorded) until :meth:`release`.

    A request whose client goes away while held leaves no trace, as if the process making it
    had been killed mid-request.
    """

    def __init__(self, emu: BotApiEmulator, method: str | None, chat_id: int | None) -> None:
        self._emu = emu
        self.method = method.lower() if method else None
        self.chat_id = chat_id
        self.waiting = 0
        self.total = 0  # requests that were held
        self.abandoned = 0  # held requests whose client disconnected
        self._released = asyncio.Event()

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def matches(self, method: str, params: JSON) -> bool:
        if self.released:
            return False
        if self.method is None:
            if method == "getUpdates":
                return False
        elif self.method != method.lower():
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id

    def release(self) -> None:
        """Let held (and future) requests through."""
        self._released.set()
        if self in self._emu.holds:
            self._emu.holds.remove(self)
        self._emu._changed()

    async def wait_for_request(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``count`` requests are blocked here."""
        await self._emu.wait_for(lambda: self.waiting >= count, timeout=timeout)

    async def _block(self, request: web.Request) -> bool:
        """True when released with the client still there; False when it went away."""
        self.waiting += 1
        self.total += 1
        self._emu._changed()
        try:
            while not self._released.is_set():
                if _client_gone(request):
                    self.abandoned += 1
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), 0.02)
        finally:
            self.waiting -= 1
            self._emu._changed()
        if _client_gone(request):
            self.abandoned += 1
            return False
        return True

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


@dataclass
class _FailRule:
    method: str
    chat_id: Any
    error_code: int
    description: str
    parameters: JSON | None
    times: int


class _Poll:
    """One in-flight getUpdates call."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.terminated = False


# --------------------------------------------------------------------------------------------
# Request parameter decoding.
# --------------------------------------------------------------------------------------------

_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "title",
        "description",
        "short_description",
        "name",
        "language_code",
        "url",
        "first_name",
        "last_name",
        "phone_number",
        "address",
        "question",
        "emoji",
        "custom_title",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "vcard",
        "performer",
        "photo",
        "video",
        "voice",
        "audio",
        "document",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "thumb",
        "secret_token",
        "ip_address",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "action",
        "icon_custom_emoji_id",
        "file_id",
        "explanation",
        "invite_link",
        "tag",
        "cover",
        "certificate",
    }
)


def _coerce(key: str, value: Any) -> Any:
    """Form values arrive as strings; PTB JSON-encodes every non-string value."""
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise bad_request(f"{name} is invalid")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise bad_request(f"{name} is invalid") from None


def _fake_bytes(seed: str, size: int, header: bytes) -> bytes:
    """Deterministic stand-in file content with a plausible magic number."""
    block = hashlib.sha256(seed.encode()).digest()
    body = (block * (size // len(block) + 1))[: max(size - len(header), 0)]
    return header + body


_MAGIC = {
    "photo": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "video": b"\x00\x00\x00\x18ftypmp42",
    "animation": b"\x00\x00\x00\x18ftypmp42",
    "voice": b"OggS\x00\x02",
    "audio": b"ID3\x03\x00",
    "document": b"%PDF-1.4\n",
    "sticker": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
}
_KIND_DIRS = {
    "photo": ("photos", "jpg"),
    "video": ("videos", "mp4"),
    "animation": ("animations", "mp4"),
    "voice": ("voice", "oga"),
    "audio": ("music", "mp3"),
    "document": ("documents", "pdf"),
    "sticker": ("stickers", "webp"),
}
_KIND_NAMES = {
    "photo": "Photo",
    "video": "Video",
    "animation": "Animation",
    "voice": "VoiceNote",
    "audio": "Audio",
    "document": "Document",
    "sticker": "Sticker",
}
_SEND_MEDIA_METHODS = {
    "sendPhoto": "photo",
    "sendVideo": "video",
    "sendVoice": "voice",
    "sendAudio": "audio",
    "sendDocument": "document",
    "sendAnimation": "animation",
    "sendSticker": "sticker",
}


# --------------------------------------------------------------------------------------------
# The emulator.
# --------------------------------------------------------------------------------------------


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


class _UsersJson(Mapping[int, JSON]):
    def __init__(self, users: Mapping[int, User]) -> None:
        self._users = users

    def __getitem__(self, user_id: int) -> JSON:
        return self._users[user_id].as_dict()

    def __iter__(self) -> Iterator[int]:
        return iter(self._users)

    def __len__(self) -> int:
        return len(self._users)


class BotApiEmulator:
    """An in-process Telegram Bot API server plus the world behind it.

    Start with ``await emu.start()``; configure PTB with ``base_url=f"{emu.url}/bot"`` and
    ``base_file_url=f"{emu.url}/file/bot"``.
    """

    def __init__(
        self, token: str = "123456:TEST-TOKEN", bot_username: str = "porchlight_test_bot"
    ) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot = User(id=bot_id, first_name="Porchlight", username=bot_username, is_bot=True)
        self.bot_username = bot_username
        # world
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        # updates
        self._updates: list[JSON] = []
        self._last_update_id = 700_000_000
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._active_poll: _Poll | None = None
        self.updates_log: list[JSON] = []  # every update ever enqueued
        self.suppressed_updates: list[JSON] = []  # not created: excluded by allowed_updates
        self.delivered_update_ids: set[int] = set()
        self.webhook_url = ""
        # observation
        self.calls: list[CallRecord] = []
        self.reactions: dict[tuple[int, int], list[JSON]] = {}
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.downloads: list[str] = []
        self._queries: dict[str, _Query] = {}
        # control
        self.latency = 0.0
        # Telegram's weather: this share of calls (never getUpdates) is answered 502 Bad
        # Gateway without being carried out; `latency_jitter` adds up to that many seconds.
        self.fault_rate = 0.0
        self.latency_jitter = 0.0
        self.random = random.Random(7)
        self.privacy_mode = True
        self.callback_answer_timeout: float | None = 15.0
        self.enforce_rate_limits = False
        self.rate_global: tuple[int, float] = (30, 1.0)
        self.rate_group: tuple[int, float] = (20, 60.0)
        self.rate_private: tuple[int, float] = (3, 3.0)
        self.rate_paid: tuple[int, float] = (1000, 1.0)
        self.clock: Callable[[], float] = time.monotonic
        self.now: Callable[[], float] = time.time
        self.holds: list[Hold] = []
        self._failures: list[_FailRule] = []
        self._sent_times: dict[Any, deque[float]] = {}
        # ids
        self._user_ids = itertools.count(1_000_001)
        self._group_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._album_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._chat_ordinal = itertools.count(0)
        # plumbing
        self._change = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, Callable[[JSON, dict[str, _Upload]], Any]] = {}
        self._register_methods()

    # ========================================================================================
    # Lifecycle
    # ========================================================================================

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port."""
        self._stopping.clear()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()

    async def stop(self) -> None:
        """Release holds, end long polls and shut the server down."""
        self._stopping.set()
        for hold in list(self.holds):
            hold.release()
        if self._active_poll is not None:
            self._active_poll.terminated = True
            self._active_poll.wake.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("emulator not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What to pass as PTB's ``base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    # ========================================================================================
    # Change notification and waiting
    # ========================================================================================

    def _changed(self) -> None:
        event, self._change = self._change, asyncio.Event()
        event.set()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline is the readable API here
        what: str | None = None,
    ) -> None:
        """Wait until ``predicate()`` holds (re-checked on every change and every 20 ms).

        Raises AssertionError with the recent calls when it does not within ``timeout``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                label = what or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {label}\n{self.dump()}"
                )
            event = self._change
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.02))

    def dump(self, last: int = 25) -> str:
        """Recent non-polling calls and pending updates, for failure messages."""
        calls = [c for c in self.calls if c.method != "getUpdates"][-last:]
        lines = ["recent Bot API calls:"] + [f"  {c!r}" for c in calls]
        lines.append(f"pending updates: {len(self._updates)}")
        for update in self._updates[:10]:
            kinds = [k for k in update if k != "update_id"]
            lines.append(f"  #{update['update_id']} {kinds}")
        return "\n".join(lines)

    # ========================================================================================
    # World setup
    # ========================================================================================

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

    def delete_topic(self, chat_id: int, message_thread_id: int) -> None:
        """Someone deletes a forum topic: its messages vanish, sends into it fail."""
        chat = self.chats[chat_id]
        chat.topics.pop(message_thread_id, None)
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

    # ========================================================================================
    # What humans do
    # ========================================================================================

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

    # ========================================================================================
    # Observation
    # ========================================================================================

    def messages(self, chat_id: int, include_deleted: bool = False) -> list[EmuMessage]:
        """All messages of a chat in order (users' and bot's, service ones included)."""
        chat = self.chats[chat_id]
        return [m for m in chat.messages.values() if include_deleted or not m.deleted]

    def bot_messages(self, chat_id: int, include_service: bool = False) -> list[EmuMessage]:
        """The bot's live messages in a chat (pin/topic service notes left out by default)."""
        return [
            m
            for m in self.messages(chat_id)
            if m.from_id == self.bot.id and (include_service or not m.is_service)
        ]

    def message(self, chat_id: int, message_id: int) -> EmuMessage:
        """One message (deleted ones too); KeyError if it never existed."""
        return self.chats[chat_id].messages[message_id]

    def pinned(self, chat_id: int) -> list[EmuMessage]:
        chat = self.chats[chat_id]
        return [chat.messages[mid] for mid in chat.pinned if mid in chat.messages]

    def calls_to(self, method: str, ok: bool | None = None) -> list[CallRecord]:
        """Recorded calls of one method (optionally only successes/failures)."""
        return [
            c
            for c in self.calls
            if c.method.lower() == method.lower() and (ok is None or c.ok == ok)
        ]

    def get_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands set for exactly this scope and language (default scope if None)."""
        return list(self.commands.get((_scope_key(scope), language_code), []))

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    def all_updates_confirmed(self) -> bool:
        """Every enqueued update has been confirmed by a later getUpdates offset."""
        return not self._updates

    def pending_update_count(self) -> int:
        return len(self._updates)

    def unanswered_callback_queries(self) -> list[str]:
        return [qid for qid in self._queries if qid not in self.callback_answers]

    # ========================================================================================
    # Fault injection
    # ========================================================================================

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` matching calls fail with this error (method "*" matches all but
        getUpdates)."""
        parameters: JSON = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        self._failures.append(
            _FailRule(method.lower(), chat_id, error_code, description, parameters or None, times)
        )

    def fail_next_flood(self, method: str, retry_after: int = 3, **kwargs: Any) -> None:
        """Shorthand: 429 ``Too Many Requests: retry after N``."""
        self.fail_next(
            method,
            error_code=429,
            description=f"Too Many Requests: retry after {retry_after}",
            retry_after=retry_after,
            **kwargs,
        )

    def hold(self, method: str | None = None, chat_id: int | None = None) -> Hold:
        """Block matching requests until ``release()`` (None matches all but getUpdates)."""
        hold = Hold(self, method, chat_id)
        self.holds.append(hold)
        return hold

    def _take_failure(self, method: str, params: JSON) -> ApiError | None:
        for rule in self._failures:
            if rule.method == "*" and method == "getUpdates":
                continue
            if rule.method not in ("*", method.lower()):
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            rule.times -= 1
            if rule.times <= 0:
                self._failures.remove(rule)
            return ApiError(rule.error_code, rule.description, rule.parameters)
        return None

    def _spend(self, chat: Chat, count: int, paid: bool = False) -> None:
        """Telegram-like flood limits (only when ``enforce_rate_limits``)."""
        if not self.enforce_rate_limits:
            return
        now = self.clock()
        if chat.is_private:
            local_key: Any = ("chat", chat.id)
            local_limit = self.rate_private
        else:
            local_key = ("chat", chat.id)
            local_limit = self.rate_group
        global_key = "paid" if paid else "global"
        global_limit = self.rate_paid if paid else self.rate_global
        waits = []
        for key, (limit, window) in ((global_key, global_limit), (local_key, local_limit)):
            times = self._sent_times.setdefault(key, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) + count > limit:
                index = min(len(times) + count - limit - 1, len(times) - 1)
                waits.append(times[index] + window - now if times else window)
        if waits:
            retry = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for key in (global_key, local_key):
            self._sent_times[key].extend([now] * count)

    # ========================================================================================
    # Updates
    # ========================================================================================

    def _emit(self, kind: str, payload: JSON) -> JSON | None:
        if kind not in self._allowed_updates:
            self.suppressed_updates.append({kind: payload})
            return None
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self.updates_log.append(update)
        if self._active_poll is not None:
            self._active_poll.wake.set()
        self._changed()
        return update

    async def _get_updates(self, p: JSON, request: web.Request) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        if self._active_poll is not None:
            self._active_poll.terminated = True
            self._active_poll.wake.set()
        poll = _Poll()
        self._active_poll = poll
        try:
            if isinstance(p.get("allowed_updates"), list):
                wanted = frozenset(str(x) for x in p["allowed_updates"])
                self._allowed_updates = wanted or DEFAULT_ALLOWED_UPDATES
            offset = p.get("offset")
            if offset is not None:
                offset = _as_int(offset, "offset")
                if offset < 0:
                    self._updates = self._updates[offset:]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._changed()
            limit = max(1, min(100, _as_int(p.get("limit", 100), "limit")))
            timeout = float(p.get("timeout") or 0)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max(0.0, min(timeout, 50.0))
            while True:
                if poll.terminated:
                    raise ApiError(409, GET_UPDATES_CONFLICT)
                batch = self._updates[:limit]
                remaining = deadline - loop.time()
                if batch or remaining <= 0 or _client_gone(request):
                    for update in batch:
                        self.delivered_update_ids.add(update["update_id"])
                    return copy.deepcopy(batch)
                poll.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poll.wake.wait(), min(remaining, 0.1))
        finally:
            if self._active_poll is poll:
                self._active_poll = None

    # ========================================================================================
    # HTTP plumbing
    # ========================================================================================

    async def _parse(self, request: web.Request) -> tuple[JSON, dict[str, _Upload]]:
        params: JSON = {k: _coerce(k, v) for k, v in request.query.items()}
        files: dict[str, _Upload] = {}
        if request.method != "POST" or not request.body_exists:
            return params, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON encoded request body") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON encoded request body")
            params.update({k: _coerce(k, v) for k, v in body.items()})
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = _Upload(value.filename, value.content_type, value.file.read())
            else:
                params[key] = _coerce(key, value)
        return params, files

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        name = request.match_info["method"]
        handler = self._methods.get(name.lower())
        method = getattr(handler, "_api_name", name)
        try:
            params, files = await self._parse(request)
        except ApiError as exc:
            self._record(method, {}, exc)
            return web.json_response(exc.payload(), status=exc.code)
        if handler is None:
            missing = ApiError(404, "Not Found")
            self._record(method, params, missing)
            return web.json_response(missing.payload(), status=404)
        for hold in [h for h in self.holds if h.matches(method, params)]:
            if not await hold._block(request):
                return web.Response(status=499)
        started = self.clock()
        try:
            failure = self._take_failure(method, params)
            weather = method != "getUpdates" and self.fault_rate > 0
            if failure is None and weather and self.random.random() < self.fault_rate:
                failure = ApiError(502, "Bad Gateway")
            if failure is not None:
                raise failure
            if method == "getUpdates":
                result: Any = await self._get_updates(params, request)
            else:
                result = handler(params, files)
        except ApiError as exc:
            self._record(method, params, exc, started)
            body, status = exc.payload(), exc.code
        else:
            self._record(method, params, None, started, result)
            body, status = {"ok": True, "result": result}, 200
        delay = self.latency
        if self.latency_jitter > 0 and method != "getUpdates":
            delay += self.random.random() * self.latency_jitter
        if delay > 0:
            # Processed already, answered late: a client timeout does not undo the effect.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        return web.json_response(body, status=status)

    def _record(
        self,
        method: str,
        params: JSON,
        error: ApiError | None,
        started: float | None = None,
        result: Any = None,
    ) -> None:
        self.calls.append(
            CallRecord(
                method=method,
                params=params,
                ok=error is None,
                error=error.description if error else None,
                error_code=error.code if error else None,
                result=result,
                t=started if started is not None else self.clock(),
            )
        )
        self._changed()

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        not_found = {"ok": False, "error_code": 404, "description": "Not Found"}
        if request.match_info["token"] != self.token:
            return web.json_response(not_found, status=404)
        stored = self._paths.get(request.match_info["path"])
        if stored is None:
            return web.json_response(not_found, status=404)
        self.downloads.append(stored.file_id)
        self._changed()
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # ========================================================================================
    # Helpers shared by methods
    # ========================================================================================

    def _register_methods(self) -> None:
        table: dict[str, Callable[[JSON, dict[str, _Upload]], Any]] = {
            "getMe": self._m_get_me,
            "getUpdates": lambda p, f: None,  # handled in _handle_api (needs the request)
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "logOut": lambda p, f: True,
            "close": lambda p, f: True,
            "sendMessage": self._m_send_message,
            "sendLocation": self._m_send_location,
            "sendVenue": self._m_send_venue,
            "sendContact": self._m_send_contact,
            "sendPoll": self._m_send_poll,
            "sendMediaGroup": self._m_send_media_group,
            "copyMessage": self._m_copy_message,
            "copyMessages": self._m_copy_messages,
            "forwardMessage": self._m_forward_message,
            "forwardMessages": self._m_forward_messages,
            "editMessageText": self._m_edit_text,
            "editMessageCaption": self._m_edit_caption,
            "editMessageReplyMarkup": self._m_edit_markup,
            "deleteMessage": self._m_delete_message,
            "deleteMessages": self._m_delete_messages,
            "answerCallbackQuery": self._m_answer_callback,
            "setMessageReaction": self._m_set_reaction,
            "getChat": self._m_get_chat,
            "getChatMember": self._m_get_chat_member,
            "getChatAdministrators": self._m_get_admins,
            "getChatMemberCount": self._m_member_count,
            "setMyCommands": self._m_set_commands,
            "getMyCommands": self._m_get_commands,
            "deleteMyCommands": self._m_delete_commands,
            "setMyDescription": self._m_set_description("description"),
            "setMyShortDescription": self._m_set_description("short_description"),
            "setMyName": self._m_set_description("name"),
            "getMyDescription": self._m_get_description("description"),
            "getMyShortDescription": self._m_get_description("short_description"),
            "getMyName": self._m_get_description("name"),
            "setChatMenuButton": lambda p, f: True,
            "getFile": self._m_get_file,
            "leaveChat": self._m_leave_chat,
            "pinChatMessage": self._m_pin,
            "unpinChatMessage": self._m_unpin,
            "unpinAllChatMessages": self._m_unpin_all,
            "createForumTopic": self._m_create_topic,
            "editForumTopic": self._m_topic_noop,
            "closeForumTopic": self._m_topic_noop,
            "reopenForumTopic": self._m_topic_noop,
            "deleteForumTopic": self._m_delete_topic,
            "sendChatAction": self._m_chat_action,
            "banChatMember": self._m_ban,
            "unbanChatMember": self._m_unban,
            "createChatInviteLink": self._m_create_invite,
            "exportChatInviteLink": self._m_export_invite,
        }
        for api_name, kind in _SEND_MEDIA_METHODS.items():
            table[api_name] = self._media_sender(api_name, kind)
        for api_name, func in table.items():
            wrapper = _named(api_name, func)
            self._methods[api_name.lower()] = wrapper

    def _resolve_chat(self, value: Any, key: str = "chat_id") -> Chat:
        if value is None or value == "":
            raise bad_request(f"{key} is empty")
        if isinstance(value, str) and value.startswith("@"):
            for chat in self.chats.values():
                name = chat.username or (chat.user.username if chat.user else None)
                if name and name.lower() == value[1:].lower():
                    return chat
            raise bad_request("chat not found")
        found = self.chats.get(_as_int(value, key))
        if found is None:
            raise bad_request("chat not found")
        return found

    def _check_group_access(self, chat: Chat) -> None:
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        if chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {chat.type} chat")

    def _readable_chat(self, value: Any, key: str = "chat_id") -> Chat:
        chat = self._resolve_chat(value, key)
        if not chat.is_private:
            self._check_group_access(chat)
        return chat

    def _writable_chat(self, p: JSON) -> Chat:
        chat = self._resolve_chat(p.get("chat_id"))
        if chat.is_private:
            if chat.deactivated:
                raise forbidden("user is deactivated")
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
        else:
            self._check_group_access(chat)
            if chat.bot_status == "restricted" and not chat.bot_rights.get(
                "can_send_messages", False
            ):
                raise bad_request("not enough rights to send text messages to the chat")
        return chat

    def _thread(self, chat: Chat, p: JSON) -> int | None:
        raw = p.get("message_thread_id")
        if raw in (None, "", 0):
            return None
        thread = _as_int(raw, "message_thread_id")
        if chat.is_forum:
            if thread != 1 and thread not in chat.topics:
                raise bad_request("message thread not found")
            return thread
        if thread not in chat.messages or chat.messages[thread].deleted:
            raise bad_request("message thread not found")
        return thread

    def _reply_target(self, chat: Chat, p: JSON) -> int | None:
        allow = bool(p.get("allow_sending_without_reply"))
        target: Any = None
        target_chat = chat
        rp = p.get("reply_parameters")
        if isinstance(rp, dict):
            target = rp.get("message_id")
            allow = allow or bool(rp.get("allow_sending_without_reply"))
            if rp.get("chat_id") not in (None, chat.id):
                target_chat = self._resolve_chat(rp["chat_id"])
        elif p.get("reply_to_message_id") not in (None, 0, ""):
            target = p.get("reply_to_message_id")
        if target is None:
            return None
        mid = _as_int(target, "message_id")
        msg = target_chat.messages.get(mid)
        if msg is None or msg.deleted or target_chat is not chat:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return mid

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

    # --- files ------------------------------------------------------------------------------

    def _new_file(
        self,
        kind: str,
        data: bytes | None,
        *,
        filename: str | None = None,
        mime: str | None = None,
        extra: JSON | None = None,
        width: int = 1280,
        height: int = 960,
    ) -> StoredFile:
        n = next(self._file_ids)
        folder, ext = _KIND_DIRS[kind]
        if data is None:
            size = {"photo": 20_000, "video": 60_000, "animation": 30_000}.get(kind, 8_000)
            data = _fake_bytes(f"{kind}-{n}", size, _MAGIC[kind])
        meta: JSON = {}
        if kind == "photo":
            meta = {"width": width, "height": height}
        elif kind in ("video", "animation"):
            meta = {
                "width": 1280,
                "height": 720,
                "duration": 7,
                "mime_type": mime if mime and mime.startswith("video/") else "video/mp4",
            }
            meta["file_name"] = filename or f"{kind}_{n}.mp4"
        elif kind == "voice":
            meta = {"duration": 4, "mime_type": "audio/ogg"}
        elif kind == "audio":
            meta = {
                "duration": 30,
                "mime_type": mime if mime and mime.startswith("audio/") else "audio/mpeg",
                "file_name": filename or f"audio_{n}.mp3",
            }
        elif kind == "document":
            meta = {
                "file_name": filename or f"document_{n}.pdf",
                "mime_type": mime or "application/pdf",
            }
        elif kind == "sticker":
            meta = {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        meta.update(extra or {})
        stored = StoredFile(
            file_id=f"EMU{kind[:2].upper()}{n:08d}{hashlib.md5(str(n).encode()).hexdigest()[:12]}",
            file_unique_id=f"AQAD{n:08d}",
            kind=kind,
            data=data,
            meta=meta,
            file_path=f"{folder}/file_{n}.{ext}",
        )
        self.files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored

    def _new_photo(self, seed: str, data: bytes | None = None) -> list[JSON]:
        sizes = [(90, 68, 1_200), (320, 240, 6_000), (1280, 960, 24_000)]
        if data is not None:
            sizes = sizes[1:]
        group: list[StoredFile] = []
        for index, (w, h, size) in enumerate(sizes):
            last = index == len(sizes) - 1
            content = data if (last and data is not None) else None
            if content is None:
                content = _fake_bytes(f"{seed}-{next(self._file_ids)}-{w}", size, _MAGIC["photo"])
            group.append(self._new_file("photo", content, width=w, height=h))
        ids = [g.file_id for g in group]
        for stored in group:
            stored.group = ids
        return [g.as_json() for g in group]

    def _media_json(self, stored: StoredFile) -> Any:
        if stored.kind == "photo":
            return [self.files[fid].as_json() for fid in (stored.group or [stored.file_id])]
        return stored.as_json()

    def _input_file(
        self, kind: str, ref: Any, files: dict[str, _Upload], p: JSON, in_album: bool = False
    ) -> Any:
        """Resolve a file parameter (upload, attach://, file_id or URL) to message JSON."""
        upload: _Upload | None = None
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://") :])
            if upload is None:
                raise bad_request("can't parse InputMedia: media not found")
        elif ref in (None, "") and not in_album:
            upload = files.get(kind)
            if upload is None:
                raise bad_request(f"there is no {kind} in the request")
        elif ref in (None, ""):
            raise bad_request("can't parse InputMedia: media not found")
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            if kind == "photo":
                return self._new_photo(seed="upload", data=upload.data)
            extra: JSON = {}
            for key in ("duration", "width", "height", "title", "performer"):
                if p.get(key) not in (None, ""):
                    extra[key] = p[key]
            stored = self._new_file(
                kind, upload.data, filename=upload.filename, mime=upload.content_type, extra=extra
            )
            return stored.as_json()
        ref = str(ref)
        stored_ref = self.files.get(ref)
        if stored_ref is None:
            if ref.startswith(("http://", "https://")):
                stored_ref = self._new_file(kind, None, filename=ref.rsplit("/", 1)[-1] or None)
                return self._media_json(stored_ref)
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored_ref.kind != kind:
            raise bad_request(
                f"can't use file of type {_KIND_NAMES[stored_ref.kind]} as {_KIND_NAMES[kind]}"
            )
        return self._media_json(stored_ref)

    def _poll_json(self, question: str, options: list[str], **extra: Any) -> JSON:
        n = next(self._file_ids)
        poll: JSON = {
            "id": f"{5_000_000_000 + n}",
            "question": question,
            "options": [
                {"text": text, "voter_count": 0, "persistent_id": f"{n}-{index}"}
                for index, text in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": True,
            "members_only": False,
        }
        poll.update(extra)
        return poll

    @staticmethod
    def _venue_json(venue: Any) -> JSON:
        if isinstance(venue, dict):
            lat, lon = venue["latitude"], venue["longitude"]
            title, address = venue.get("title", "Venue"), venue.get("address", "Address")
        else:
            lat, lon, title, address = venue
        return {
            "location": {"latitude": float(lat), "longitude": float(lon)},
            "title": str(title),
            "address": str(address),
        }

    def _new_album_id(self) -> str:
        return f"{13_800_000_000_000_000 + next(self._album_ids)}"

    def _member_json(self, chat: Chat, user: JSON, member: Member) -> JSON:
        status = member.status
        data: JSON = {"status": status, "user": user}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                }
            )
            if chat.type == "supergroup":
                data["can_manage_topics"] = True
        elif status == "restricted":
            data.update(
                {
                    "is_member": True,
                    **DEFAULT_PERMISSIONS,
                    "can_edit_tag": False,
                    "can_react_to_messages": True,
                    "until_date": 0,
                }
            )
        elif status == "kicked":
            data["until_date"] = 0
        data.update({k: v for k, v in member.rights.items() if k not in ("status", "user")})
        return data

    def _bot_right(self, chat: Chat, right: str) -> bool:
        if chat.is_private:
            return True
        if chat.bot_status == "creator":
            return True
        if chat.bot_status != "administrator":
            return False
        return bool(chat.bot_rights.get(right, True))

    def _find_message(self, chat: Chat, p: JSON, error: str) -> EmuMessage:
        raw = p.get("message_id")
        if raw in (None, ""):
            raise bad_request("message identifier is not specified")
        msg = chat.messages.get(_as_int(raw, "message_id"))
        if msg is None or msg.deleted:
            raise bad_request(error)
        return msg

    # ========================================================================================
    # Bot API methods
    # ========================================================================================

    def _m_get_me(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        me = self.bot.as_dict()
        me.update(
            {
                "can_join_groups": True,
                "can_read_all_group_messages": not self.privacy_mode,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
                "has_topics_enabled": False,
                "allows_users_to_create_topics": False,
            }
        )
        return me

    def _m_set_webhook(self, p: JSON, f: dict[str, _Upload]) -> bool:
        self.webhook_url = str(p.get("url") or "")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if isinstance(p.get("allowed_updates"), list):
            self._allowed_updates = frozenset(p["allowed_updates"]) or DEFAULT_ALLOWED_UPDATES
        return True

    def _m_delete_webhook(self, p: JSON, f: dict[str, _Upload]) -> bool:
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_get_webhook_info(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        info: JSON = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _m_send_message(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        content = self._text_content(p)
        return self._send("sendMessage", p, content).to_json()

    def _media_sender(self, api_name: str, kind: str) -> Callable[[JSON, dict[str, _Upload]], Any]:
        def send(p: JSON, files: dict[str, _Upload]) -> JSON:
            caption = self._caption_content(p) if kind != "sticker" else {}
            self._writable_chat(p)  # chat errors before file errors
            media = self._input_file(kind, p.get(kind), files, p)
            content: JSON = {kind: media}
            content.update(caption)
            if p.get("has_spoiler") and kind in ("photo", "video", "animation"):
                content["has_media_spoiler"] = True
            return self._send(api_name, p, content).to_json()

        return send

    def _m_send_location(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        try:
            location = {"latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude") from None
        if not (-90 <= location["latitude"] <= 90 and -180 <= location["longitude"] <= 180):
            raise bad_request("wrong latitude or longitude")
        if p.get("live_period"):
            location["live_period"] = int(p["live_period"])
        return self._send("sendLocation", p, {"location": location}).to_json()

    def _m_send_venue(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        for key in ("latitude", "longitude", "title", "address"):
            if p.get(key) in (None, ""):
                raise bad_request(f'parameter "{key}" is required')
        venue = self._venue_json(p)
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if p.get(key):
                venue[key] = p[key]
        content = {"venue": venue, "location": dict(venue["location"])}
        return self._send("sendVenue", p, content).to_json()

    def _m_send_contact(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        if not p.get("phone_number") or not p.get("first_name"):
            raise bad_request("phone number and first name must be non-empty")
        contact = {"phone_number": str(p["phone_number"]), "first_name": str(p["first_name"])}
        if p.get("last_name"):
            contact["last_name"] = str(p["last_name"])
        return self._send("sendContact", p, {"contact": contact}).to_json()

    def _m_send_poll(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        options = p.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise bad_request("poll must have at least 2 option")
        texts = [o["text"] if isinstance(o, dict) else str(o) for o in options]
        poll = self._poll_json(
            str(p.get("question") or ""),
            texts,
            is_anonymous=p.get("is_anonymous", True) is not False,
            type=p.get("type") or "regular",
            allows_multiple_answers=bool(p.get("allows_multiple_answers")),
        )
        return self._send("sendPoll", p, {"poll": poll}).to_json()

    def _m_send_media_group(self, p: JSON, files: dict[str, _Upload]) -> list[JSON]:
        media = p.get("media")
        if media is None:
            raise bad_request('parameter "media" is required')
        if not isinstance(media, list) or not media:
            raise bad_request("there are no messages to send")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        types = []
        for item in media:
            if not isinstance(item, dict):
                raise bad_request("can't parse InputMedia: media not found")
            kind = item.get("type")
            if kind == "animation":
                raise bad_request(
                    "can't parse InputMedia: type \"animation\" can't be used in sendMediaGroup"
                )
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request(f'can\'t parse InputMedia: type "{kind}" is unsupported')
            types.append(kind)
        if "document" in types and set(types) != {"document"}:
            raise bad_request("document can't be mixed with other media types")
        if "audio" in types and set(types) != {"audio"}:
            raise bad_request("audio can't be mixed with other media types")
        chat = self._writable_chat(p)
        contents = []
        for item in media:
            caption = self._caption_content(item)
            content: JSON = {
                item["type"]: self._input_file(item["type"], item.get("media"), files, item, True)
            }
            content.update(caption)
            if item.get("has_spoiler"):
                content["has_media_spoiler"] = True
            contents.append(content)
        thread = self._thread(chat, p)
        reply_to = self._reply_target(chat, p)
        self._spend(chat, len(contents), bool(p.get("allow_paid_broadcast")))
        group_id = self._new_album_id() if len(contents) > 1 else None
        sent = [
            self._store(
                chat,
                self.bot.as_dict(),
                content,
                reply_to=reply_to,
                thread=thread,
                media_group_id=group_id,
                method="sendMediaGroup",
                protect=bool(p.get("protect_content")),
            )
            for content in contents
        ]
        return [m.to_json() for m in sent]

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

    def _m_answer_callback(self, p: JSON, f: dict[str, _Upload]) -> bool:
        qid = str(p.get("callback_query_id") or "")
        query = self._queries.get(qid)
        if query is None or qid in self.callback_answers:
            raise bad_request(QUERY_TOO_OLD)
        if (
            self.callback_answer_timeout is not None
            and self.clock() - query.created > self.callback_answer_timeout
        ):
            raise bad_request(QUERY_TOO_OLD)
        text = p.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[qid] = CallbackAnswer(
            text=None if text in (None, "") else str(text),
            show_alert=bool(p.get("show_alert")),
            url=p.get("url"),
            cache_time=p.get("cache_time"),
        )
        return True

    def _m_set_reaction(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        msg = self._find_message(chat, p, "message to react not found")
        reaction = p.get("reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("REACTION_INVALID")
        if msg.is_service:
            raise bad_request("REACTION_INVALID")
        for item in reaction:
            if not isinstance(item, dict):
                raise bad_request("REACTION_INVALID")
            if item.get("type") == "emoji" and item.get("emoji") not in _REACTION_EMOJI:
                raise bad_request("REACTION_INVALID")
            if item.get("type") not in ("emoji", "custom_emoji"):
                raise bad_request("REACTION_INVALID")
        if len(reaction) > 1:
            raise bad_request("REACTIONS_TOO_MANY")
        self.reactions[(chat.id, msg.message_id)] = copy.deepcopy(reaction)
        self._changed()
        return True

    def _m_get_chat(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        chat = self._readable_chat(p.get("chat_id"))
        info = chat.short()
        info.update(
            {
                "accent_color_id": abs(chat.id) % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        if not chat.is_private:
            info["permissions"] = dict(DEFAULT_PERMISSIONS)
            pinned = self.pinned(chat.id)
            live = [m for m in pinned if not m.deleted]
            if live:
                info["pinned_message"] = live[-1].to_json(with_reply=False)
        return info

    def _m_get_chat_member(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        chat = self._readable_chat(p.get("chat_id"))
        uid = _as_int(p.get("user_id"), "user_id")
        if uid == self.bot.id:
            status = "member" if chat.is_private else chat.bot_status
            return self._member_json(chat, self.bot.as_dict(), Member(status, chat.bot_rights))
        user = self.users.get(uid)
        if user is None:
            raise bad_request("user not found")
        if chat.is_private:
            member = Member("member" if uid == chat.id else "left")
        else:
            member = chat.members.get(uid, Member("left"))
        return self._member_json(chat, user.as_dict(), member)

    def _m_get_admins(self, p: JSON, f: dict[str, _Upload]) -> list[JSON]:
        chat = self._readable_chat(p.get("chat_id"))
        if chat.is_private:
            raise bad_request("there are no administrators in the private chat")
        admins = [
            self._member_json(chat, self.users[uid].as_dict(), m)
            for uid, m in chat.members.items()
            if m.status in ("creator", "administrator") and uid in self.users
        ]
        if chat.bot_status in ("creator", "administrator"):
            admins.append(
                self._member_json(
                    chat, self.bot.as_dict(), Member(chat.bot_status, chat.bot_rights)
                )
            )
        return admins

    def _m_member_count(self, p: JSON, f: dict[str, _Upload]) -> int:
        chat = self._readable_chat(p.get("chat_id"))
        if chat.is_private:
            return 2
        present = [
            m
            for m in chat.members.values()
            if m.status in ("creator", "administrator", "member")
            or (m.status == "restricted" and m.rights.get("is_member", True))
        ]
        return len(present) + (0 if chat.bot_status in ("left", "kicked") else 1)

    def _m_set_commands(self, p: JSON, f: dict[str, _Upload]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("too many commands")
        clean = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("BOT_COMMAND_INVALID")
            command = str(item.get("command", "")).removeprefix("/")
            description = str(item.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": command, "description": description})
        key = self._commands_key(p)
        if clean:
            self.commands[key] = clean
        else:
            self.commands.pop(key, None)
        self._changed()
        return True

    def _commands_key(self, p: JSON) -> tuple[str, str]:
        scope = p.get("scope")
        if isinstance(scope, dict) and scope.get("chat_id") is not None:
            self._resolve_chat(scope["chat_id"])
        return _scope_key(scope if isinstance(scope, dict) else None), str(
            p.get("language_code") or ""
        )

    def _m_get_commands(self, p: JSON, f: dict[str, _Upload]) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(p), []))

    def _m_delete_commands(self, p: JSON, f: dict[str, _Upload]) -> bool:
        self.commands.pop(self._commands_key(p), None)
        self._changed()
        return True

    def _m_set_description(self, key: str) -> Callable[[JSON, dict[str, _Upload]], bool]:
        def setter(p: JSON, f: dict[str, _Upload]) -> bool:
            value = str(p.get(key) or "")
            limit = {"description": 512, "short_description": 120, "name": 64}[key]
            if len(value) > limit:
                raise bad_request(f"{key.upper()}_INVALID")
            self.descriptions[(key, str(p.get("language_code") or ""))] = value
            self._changed()
            return True

        return setter

    def _m_get_description(self, key: str) -> Callable[[JSON, dict[str, _Upload]], JSON]:
        def getter(p: JSON, f: dict[str, _Upload]) -> JSON:
            lang = str(p.get("language_code") or "")
            value = self.descriptions.get((key, lang), "")
            if key == "name" and not value:
                value = self.bot.first_name
            return {key: value}

        return getter

    def _m_get_file(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        stored = self.files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if len(stored.data) > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _m_leave_chat(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if chat.is_private:
            raise bad_request("chat member status can't be changed in private chats")
        old = Member(chat.bot_status, dict(chat.bot_rights))
        chat.bot_status = "left"
        chat.bot_rights = {}
        self._emit_my_member(chat, self.bot.as_dict(), old, Member("left"))
        return True

    def _m_pin(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if not self._bot_right(chat, "can_pin_messages"):
            raise bad_request("not enough rights to manage pinned messages in the chat")
        msg = self._find_message(chat, p, "message to pin not found")
        if msg.message_id in chat.pinned:
            chat.pinned.remove(msg.message_id)
        chat.pinned.append(msg.message_id)
        self._store(
            chat,
            self.bot.as_dict(),
            {"pinned_message": msg.to_json(with_reply=False)},
            thread=msg.message_thread_id,
            method="pinChatMessage",
            service=True,
        )
        return True

    def _m_unpin(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if not self._bot_right(chat, "can_pin_messages"):
            raise bad_request("not enough rights to manage pinned messages in the chat")
        raw = p.get("message_id")
        if raw in (None, ""):
            if chat.pinned:
                chat.pinned.pop()
        else:
            mid = _as_int(raw, "message_id")
            if mid in chat.pinned:
                chat.pinned.remove(mid)
        self._changed()
        return True

    def _m_unpin_all(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if not self._bot_right(chat, "can_pin_messages"):
            raise bad_request("not enough rights to manage pinned messages in the chat")
        chat.pinned.clear()
        self._changed()
        return True

    def _forum(self, p: JSON) -> Chat:
        chat = self._readable_chat(p.get("chat_id"))
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        if not self._bot_right(chat, "can_manage_topics"):
            raise bad_request("not enough rights to manage topics")
        return chat

    def _m_create_topic(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        chat = self._forum(p)
        name = str(p.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        icon_color = int(p.get("icon_color") or 7322096)
        created: JSON = {"name": name, "icon_color": icon_color}
        if p.get("icon_custom_emoji_id"):
            created["icon_custom_emoji_id"] = p["icon_custom_emoji_id"]
        note = self._store(
            chat,
            self.bot.as_dict(),
            {"forum_topic_created": created},
            method="createForumTopic",
            service=True,
        )
        note.raw["message_thread_id"] = note.message_id
        note.raw["is_topic_message"] = True
        chat.topics[note.message_id] = name
        result = {"message_thread_id": note.message_id, "name": name, "icon_color": icon_color}
        if p.get("icon_custom_emoji_id"):
            result["icon_custom_emoji_id"] = p["icon_custom_emoji_id"]
        return result

    def _m_topic_noop(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._forum(p)
        if _as_int(p.get("message_thread_id"), "message_thread_id") not in chat.topics:
            raise bad_request("message thread not found")
        return True

    def _m_delete_topic(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._forum(p)
        thread = _as_int(p.get("message_thread_id"), "message_thread_id")
        if thread not in chat.topics:
            raise bad_request("message thread not found")
        self.delete_topic(chat.id, thread)
        return True

    def _m_chat_action(self, p: JSON, f: dict[str, _Upload]) -> bool:
        self._writable_chat(p)
        if not p.get("action"):
            raise bad_request("action is empty")
        return True

    def _m_ban(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if chat.is_private:
            raise bad_request("chat member status can't be changed in private chats")
        if not self._bot_right(chat, "can_restrict_members"):
            raise bad_request("not enough rights to restrict/unrestrict chat member")
        uid = _as_int(p.get("user_id"), "user_id")
        if uid not in self.users:
            raise bad_request("user not found")
        if chat.members.get(uid, Member("left")).status == "creator":
            raise bad_request("can't remove chat owner")
        self.set_member(chat.id, uid, "kicked", actor=self.bot)
        return True

    def _m_unban(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        uid = _as_int(p.get("user_id"), "user_id")
        current = chat.members.get(uid)
        banned = current is not None and current.status == "kicked"
        unban_anyway = (
            current is not None and not p.get("only_if_banned") and current.status != "creator"
        )
        if banned or unban_anyway:
            self.set_member(chat.id, uid, "left", actor=self.bot)
        return True

    def _m_create_invite(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        chat = self._readable_chat(p.get("chat_id"))
        if not self._bot_right(chat, "can_invite_users"):
            raise bad_request("not enough rights to manage chat invite link")
        link: JSON = {
            "invite_link": f"https://t.me/+EMU{abs(chat.id)}x{next(self._file_ids)}",
            "creator": self.bot.as_dict(),
            "creates_join_request": bool(p.get("creates_join_request")),
            "is_primary": False,
            "is_revoked": False,
        }
        for key in ("name", "expire_date", "member_limit"):
            if p.get(key) not in (None, ""):
                link[key] = p[key]
        return link

    def _m_export_invite(self, p: JSON, f: dict[str, _Upload]) -> str:
        chat = self._readable_chat(p.get("chat_id"))
        return f"https://t.me/+EMU{abs(chat.id)}primary"


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _named(
    api_name: str, func: Callable[[JSON, dict[str, _Upload]], Any]
) -> Callable[[JSON, dict[str, _Upload]], Any]:
    def call(p: JSON, f: dict[str, _Upload]) -> Any:
        return func(p, f)

    call._api_name = api_name  # type: ignore[attr-defined]
    return call


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


async def settle_noop() -> None:
    """A ``settle`` for drivers when no bot is running (tests of the emulator itself)."""
    return None
