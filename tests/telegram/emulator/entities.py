"""UTF-16 measures, parser primitives and Telegram's entity normalisation.

Why: Telegram counts offsets, lengths and limits in UTF-16 code units, trims text and
detects urls, /commands, @mentions by itself; the parsers and the world share these rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import ApiError, bad_request
from .wire import JSON


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


_SPACES = " \t\r\n\v\f\0"


_TG_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.IGNORECASE)


@dataclass
class _Open:
    tag: str
    arg: str
    offset: int  # UTF-16 offset in the result
    begin: int  # index in the result char list
    byte: int  # byte offset of the opening token in the source


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
