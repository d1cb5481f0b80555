"""The one entry point for formatted text: a parse mode or explicit entities, normalised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .entities import finalize_text
from .errors import bad_request
from .html_parser import parse_html
from .markdown_parser import parse_markdown, parse_markdown_v2
from .wire import JSON


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
