"""Pure helpers: splitting long text, headers on content, albums, emergency words, flood."""

from __future__ import annotations

from bot import content
from bot.services import FloodGuard
from bot.tips import is_emergency


def test_long_text_is_split_without_losing_a_character() -> None:
    text = ("word " * 1000).strip() + " 🚨" * 10
    pieces = content.split_plain(text, first_room=4000)
    assert "".join(pieces).replace("\n", "").replace(" ", "") == text.replace(" ", "")
    assert content.visible_units(pieces[0]) <= 4000
    assert all(content.visible_units(p) <= content.TEXT_LIMIT for p in pieces)


def test_text_that_fits_is_not_split() -> None:
    assert content.split_plain("<b>&</b>", first_room=10) == ["<b>&</b>"]


def test_visible_length_counts_the_parsed_text() -> None:
    assert content.visible_length("<b>a &lt; b</b>") == 5
    assert content.visible_length("🚨") == 2


def test_header_goes_into_the_caption_when_it_fits() -> None:
    parts = content.with_header({"type": "photo", "file_id": "F", "caption": "hi"}, "<b>H</b>")
    assert parts == [{"type": "photo", "file_id": "F", "caption": "<b>H</b>\nhi"}]


def test_header_goes_before_a_location() -> None:
    parts = content.with_header({"type": "location", "latitude": 1, "longitude": 2}, "H")
    assert [p["type"] for p in parts] == ["text", "location"]


def test_long_caption_moves_to_a_text_message() -> None:
    parts = content.with_header({"type": "photo", "file_id": "F", "caption": "x" * 1023}, "H")
    assert [p["type"] for p in parts] == ["text", "photo"] and parts[1]["caption"] is None


def test_media_are_grouped_into_albums_of_one_family() -> None:
    items = [{"type": "photo", "file_id": str(i)} for i in range(12)]
    items += [{"type": "voice", "file_id": "v"}, {"type": "document", "file_id": "d"}]
    batches = content.media_batches(items)
    kinds = [(b["type"], len(b.get("items", []))) for b in batches]
    assert kinds == [("album", 10), ("voice", 0), ("album", 2), ("document", 0)]


def test_emergency_words_in_both_languages_but_not_inside_words() -> None:
    assert is_emergency("Someone has a GUN near the school")
    assert is_emergency("¡Socorro! hay fuego en el portal")
    assert is_emergency("please help me")
    assert not is_emergency("Gunther parked his van on the kerb again")
    assert not is_emergency("")


def test_flood_guard_warns_once_then_recovers() -> None:
    guard = FloodGuard(per_minute=3)
    results = [guard.allow(1, now=float(i)) for i in range(6)]
    assert results == [(True, False)] * 3 + [(False, True), (False, False), (False, False)]
    assert guard.allow(1, now=120.0) == (True, False)
