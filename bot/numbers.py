"""Numbers typed or tapped by people: callback data, command arguments, deep links.

`str.isdigit()` accepts "²" and "٣" (and `int("²")` raises), and an id of 30 digits makes
SQLite raise OverflowError. Every number parsed from user input goes through here.
"""

from __future__ import annotations

import re

MAX_ID = 2**53  # far above any row id or Telegram id, far below SQLite's 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,16}")


def parse_int(raw: str | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """`raw` as an int if it is ASCII digits only (no sign, no spaces) within low..high."""
    if raw is None or not _ASCII_DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_ref(raw: str | None) -> int | None:
    """A reference such as "12" or "#12" (events, tips, library entries)."""
    return parse_int(raw.removeprefix("#") if raw else raw)


def parse_chat_id(raw: str | None) -> int | None:
    """A Telegram chat id: groups are negative ("-1001234567890"), people positive."""
    if raw is None:
        return None
    value = parse_int(raw.removeprefix("-"))
    if value is None:
        return None
    return -value if raw.startswith("-") else value
