"""The one parser of numbers that people send: ASCII digits only, within a sane range."""

from __future__ import annotations

import pytest

from bot.numbers import MAX_ID, parse_chat_id, parse_int, parse_ref


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        ("1", 1),
        (str(MAX_ID), MAX_ID),
        ("007", 7),
    ],
)
def test_plain_ascii_numbers_are_read(raw: str, expected: int) -> None:
    assert parse_int(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "0",  # ids start at 1
        "²",  # isdigit() says yes, int() raises
        "١٢",  # Arabic-Indic digits: int() accepts them, we do not
        "１２",  # full-width digits
        "99999999999999999999999",  # would overflow SQLite's INTEGER
        str(MAX_ID + 1),
        "-3",
        "+3",
        " 3",
        "3 ",
        "3.0",
        "1e3",
        "0x10",
        "1_000",
    ],
)
def test_anything_else_is_refused(raw: str | None) -> None:
    assert parse_int(raw) is None


def test_a_range_can_be_narrowed() -> None:
    assert parse_int("5", low=1, high=5) == 5
    assert parse_int("6", low=1, high=5) is None
    assert parse_int("0", low=0) == 0


def test_references_may_start_with_a_hash() -> None:
    assert parse_ref("#12") == 12 and parse_ref("12") == 12
    assert parse_ref("##12") is None and parse_ref("#") is None and parse_ref(None) is None


def test_chat_ids_may_be_negative() -> None:
    assert parse_chat_id("-1001234567890") == -1001234567890
    assert parse_chat_id("42") == 42
    assert parse_chat_id("--1") is None and parse_chat_id("-") is None
    assert parse_chat_id("-²") is None and parse_chat_id("-0") is None


def test_a_shared_name_is_built_one_way() -> None:
    from bot.tips import reporter_name

    assert reporter_name("Alice", "Walker", "alice_w") == "Alice Walker (@alice_w)"
    assert reporter_name("Alice", None, None) == "Alice"
    assert reporter_name(None, None, "alice_w") == "@alice_w"
    assert reporter_name("", None, None) is None
