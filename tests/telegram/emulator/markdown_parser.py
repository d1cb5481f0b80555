"""MarkdownV2 and legacy Markdown parse modes, modelled on TDLib's parsers."""

from __future__ import annotations

from collections.abc import Mapping

from .entities import _SPACES, _byte_offset, _link_entity, _Open, _parse_error, _u16
from .wire import JSON

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
