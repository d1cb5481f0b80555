"""The flood budget's arithmetic (bot.budget.GroupWindow and _spends), tested directly."""

from __future__ import annotations

from telegram.error import NetworkError, TimedOut

from bot.budget import PEOPLE, URGENT, GroupWindow, _spends, may_have_happened

CARDS = 20  # the outbox priority of an ordinary tip's card


def test_a_group_keeps_the_last_messages_of_a_minute_for_people_and_urgent_tips() -> None:
    window = GroupWindow(20, 60.0)
    assert (window.room(PEOPLE, 0.0), window.room(URGENT, 0.0), window.room(CARDS, 0.0)) == (
        20,
        18,
        16,
    )
    window.spend(16, now=0.0)
    assert window.room(CARDS, 1.0) == 0, "cards have used their share"
    assert window.delay(CARDS, 1, 1.0) == 59.0, "the next card waits for the oldest to age out"
    assert window.delay(URGENT, 1, 1.0) == 0.0, "an urgent card still goes"
    window.spend(2, now=1.0)
    assert window.delay(URGENT, 1, 2.0) > 0
    assert window.delay(PEOPLE, 1, 2.0) == 0.0, "an officer's answer still goes"
    assert window.room(CARDS, 61.5) == 16, "a minute later every card's share is back"


def test_only_calls_that_post_messages_spend_the_budget() -> None:
    assert _spends("sendMessage", {"chat_id": -1}) == 1
    assert _spends("sendMediaGroup", {"media": [{}, {}, {}]}) == 3
    assert _spends("copyMessage", {}) == 1
    for free in ("editMessageText", "setMessageReaction", "answerCallbackQuery", "getChatMember"):
        assert _spends(free, {"chat_id": -1}) == 0
    assert _spends("sendChatAction", {"chat_id": -1}) == 0


def test_what_may_have_reached_telegram_is_not_repeated() -> None:
    assert may_have_happened(TimedOut())
    assert may_have_happened(NetworkError("httpx.ReadError: connection lost"))
    assert not may_have_happened(NetworkError("httpx.ConnectError: refused"))
    assert not may_have_happened(NetworkError("Bad Gateway"))
    assert _spends("createForumTopic", {"chat_id": -1}) == 1
    assert _spends("closeForumTopic", {"chat_id": -1}) == 1
