"""What one outgoing Telegram message carries, as plain JSON-able data for the outbox.

A content is a dict with a `type` and the fields that type needs:
  text      html, buttons?            photo/video/document/voice/audio/animation  file_id, caption?
  location  latitude, longitude       album  items: [{type, file_id}] (2–10, one media family)
  reaction  message_id, emoji
  card_edit tip_id                    (the tip's card edited to its state when sent)
  topic     tip_id                    (the tip's forum topic opened, once, before its card)
  reaction  message_id, emoji       pin, unpin  message_id? (else the message replied to)
  chart     chart, caption?         (a bot.charts.ChartSpec as JSON, drawn to a PNG when sent)
`html` and `caption` are HTML already escaped by the caller (see bot.i18n). A text or file with
`paid: true` is sent as a paid broadcast (`allow_paid_broadcast`, BROADCAST_PAID).
"""

from __future__ import annotations

import html
import re
from typing import Any

Content = dict[str, Any]

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
ALBUM_LIMIT = 10
CAPTIONED = {"photo", "video", "document", "voice", "audio", "animation"}
# Telegram groups media of one family into an album; voice notes and animations go alone.
ALBUM_FAMILY = {"photo": "visual", "video": "visual", "document": "document", "audio": "audio"}
_TAG = re.compile(r"<[^>]+>")


def visible_length(html_text: str) -> int:
    """Length as Telegram counts it after parsing our HTML: UTF-16 code units of the text."""
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


def first_words(text: str, limit: int) -> str:
    """The start of a resident's text on one line, cut at a word, for lists and titles."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


def text(html_text: str, buttons: list[list[tuple[str, str]]] | None = None) -> Content:
    content: Content = {"type": "text", "html": html_text}
    if buttons:
        content["buttons"] = [[list(button) for button in row] for row in buttons]
    return content


def chart(spec: dict[str, Any], caption_html: str | None = None) -> Content:
    """A chart sent as a photo, drawn from its data when the row is sent (bot.digest)."""
    content: Content = {"type": "chart", "chart": spec}
    if caption_html:
        content["caption"] = caption_html
    return content


def split_plain(value: str, first_room: int, room: int = TEXT_LIMIT) -> list[str]:
    """Cut user text into pieces that fit: the first beside a header, the rest alone.

    Counted in UTF-16 units, cut at a line break or space when one is near, never inside a
    character; escaping does not change the count (Telegram counts the parsed text).
    """
    pieces: list[str] = []
    rest = value
    limit = max(first_room, 1)
    while visible_units(rest) > limit:
        cut = _cut_index(rest, limit)
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
        limit = room
    pieces.append(rest)
    return pieces


def visible_units(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def _cut_index(value: str, units: int) -> int:
    """Index of the last character that fits in `units`, moved back to a nearby break."""
    count = 0
    index = len(value)
    for position, char in enumerate(value):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > units:
            index = position
            break
    window = value[:index]
    for separator in ("\n", " "):
        found = window.rfind(separator)
        if found > index * 0.8:
            return found + 1
    return index


def with_header(body: Content, header_html: str) -> list[Content]:
    """Put a header above a piece of content: in its caption when it fits, else before it."""
    kind = body["type"]
    if kind == "text":
        full = header_html + "\n" + body["html"]
        if visible_length(full) <= TEXT_LIMIT:
            return [{**body, "html": full}]
        return [text(header_html), body]
    if kind in CAPTIONED:
        caption = body.get("caption") or ""
        full = header_html + ("\n" + caption if caption else "")
        if visible_length(full) <= CAPTION_LIMIT:
            return [{**body, "caption": full}]
        return [text(header_html + "\n" + caption), {**body, "caption": None}]
    return [text(header_html), body]


def media_batches(items: list[Content]) -> list[Content]:
    """Group media items into as few messages as Telegram allows (albums of one family)."""
    batches: list[Content] = []
    pending: dict[str, list[Content]] = {}
    for item in items:
        family = ALBUM_FAMILY.get(item["type"])
        if family is None:
            batches.append(item)
            continue
        group = pending.setdefault(family, [])
        group.append(item)
        if len(group) == ALBUM_LIMIT:
            batches.append({"type": "album", "items": list(group)})
            group.clear()
    for group in pending.values():
        if len(group) == 1:
            batches.append(group[0])
        elif group:
            batches.append({"type": "album", "items": list(group)})
    return batches
