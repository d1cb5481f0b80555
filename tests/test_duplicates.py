"""Possible duplicates: the rules (pure functions) and what officers see on the card."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.duplicates import metres_apart, place_words, plates, resemblance
from bot.surge import list_delivery
from bot.tips import OfficerChat
from storage.models import Tip
from tests.conftest import World

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BASE = Tip(
    id=1,
    resident_id=None,
    category="vehicle",
    description="White van, engine running",
    latitude=None,
    longitude=None,
    place=None,
    anonymous=True,
    reporter_name=None,
    urgent=False,
    status="new",
    language="en",
    card_message_id=None,
    created_at=NOW - timedelta(hours=2),
)


def test_plate_like_tokens_need_letters_and_digits() -> None:
    assert plates("Plate 7ABC123, maybe AB-123-CD") == {"7ABC123", "AB123CD"}
    assert plates("Number 12345 on Elm street, 2024") == set()
    assert plates("the word BANANA") == set()


def test_distance_and_place_words() -> None:
    assert 95 < metres_apart((40.4168, -3.7038), (40.4177, -3.7038)) < 105
    assert place_words("Corner of Elm St and Oak Avenue") == {"corner", "elm", "oak"} - {"corner"}
    assert place_words("Calle Mayor, esquina Álamo") == {"mayor", "alamo"}


def test_a_tip_resembles_an_open_one_by_pin_plate_or_place() -> None:
    pinned = replace(BASE, latitude=40.4168, longitude=-3.7038)
    near = replace(BASE, id=2, latitude=40.4176, longitude=-3.7038, created_at=NOW)
    found = resemblance(near, [pinned], NOW)
    assert found is not None and found.tip_id == 1 and found.code == "pin"
    far = replace(near, latitude=40.4268)
    assert resemblance(far, [pinned], NOW) is None
    old = replace(pinned, created_at=NOW - timedelta(hours=30))
    assert resemblance(near, [old], NOW) is None, "a pin counts for 24 hours"
    resolved = replace(pinned, status="resolved")
    assert resemblance(near, [resolved], NOW) is None, "only open tips"

    plate = replace(
        BASE, description="Grey car 7ABC123 circling", created_at=NOW - timedelta(days=3)
    )
    again = replace(BASE, id=3, description="saw 7abc123 again", created_at=NOW)
    found = resemblance(again, [plate], NOW)
    assert found is not None and found.reason == "plate:7ABC123"

    placed = replace(BASE, place="Elm St & Oak Ave")
    same = replace(BASE, id=4, place="corner of Oak Avenue and Elm", created_at=NOW)
    other_kind = replace(same, category="hazard")
    assert (resemblance(same, [placed], NOW) or BASE).tip_id == 1
    assert resemblance(other_kind, [placed], NOW) is None


def test_a_surge_list_escapes_what_residents_wrote_once() -> None:
    tip = replace(BASE, description="A & B <b>bold</b>")
    officers = OfficerChat(-100, "en", UTC)  # type: ignore[arg-type]
    html = list_delivery([tip], officers).payload.contents[0]["html"]
    assert "A &amp; B &lt;b&gt;bold&lt;/b&gt;" in html and "&amp;amp;" not in html


async def test_a_tip_near_an_open_one_says_so_on_its_card(world: World) -> None:
    first, second = world.resident("Ana"), world.resident("Ben")
    for person, lat in ((first, 40.41680), (second, 40.41750)):
        await person.says("/report")
        await person.taps("Suspicious vehicle")
        await person.says("White van, engine running, <no plates>")
        await person.shares_location(lat, -3.70380)
        await person.taps("Skip")
        await person.taps("Anonymous (recommended)")
        await person.taps("Send")
    cards = [m for m in world.officer_chat.bot_messages() if "White van" in (m.text or "")]
    assert len(cards) == 2
    assert "Possibly the same" not in (cards[0].text or "")
    assert "Possibly the same as #1: pins 78 m apart" in (cards[1].text or "")
    assert "<no plates>" in (cards[1].text or ""), "shown exactly as written"
