"""Telegram's HTML parse mode, modelled on TDLib's parser (its rules and error wording)."""

from __future__ import annotations

from collections.abc import Mapping

from .entities import _SPACES, _byte_offset, _link_entity, _Open, _parse_error, _u16
from .wire import JSON

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
