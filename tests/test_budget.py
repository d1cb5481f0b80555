"""The flood budget's arithmetic (bot.flood_windows: windows and paces; bot.budget: what
spends), tested directly."""

from __future__ import annotations

import asyncio
import bisect
import heapq
import random
import time

import pytest
from telegram.error import NetworkError, TimedOut

from bot.budget import TelegramBudget, _spends, may_have_happened
from bot.flood_windows import PEOPLE, URGENT, GroupWindow, Pace

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


def test_a_pace_keeps_its_schedule_when_a_turn_comes_a_little_late() -> None:
    pace = Pace(30)
    pace.spend(1, now=0.0)
    late = pace.gap + 0.010  # the timer fired 10 ms late
    assert pace.delay(1, late) == 0.0
    pace.spend(1, now=late)
    assert pace.next_free == pytest.approx(2 * pace.gap), "the late turn did not push the rest"
    assert pace.delay(1, late) > 0.0
    pace.spend(1, now=100.0)  # after a quiet spell the pace starts afresh: no burst
    assert pace.next_free == pytest.approx(100.0 + pace.gap)


def test_a_pace_spends_the_whole_budget_evenly_and_never_a_second_over() -> None:
    """Turns come late (a busy event loop: 4 ms on average) and answers up to 10 ms after the
    send (transit): 97 % of the limit still goes, and no second holds more than 30 messages as
    Telegram may count them (anywhere between the send and its answer)."""
    pace, chance, now = Pace(30), random.Random(12), 0.0
    counted: list[float] = []
    answers: list[float] = []
    while now < 60.0:
        now += 0.001
        while answers and answers[0] <= now:
            pace.answered_at(1, heapq.heappop(answers))
        if pace.delay(1, now) == 0.0 and chance.random() < 0.25:
            pace.spend(1, now)
            answer = now + chance.random() * 0.010
            heapq.heappush(answers, answer)
            counted.append(now + chance.random() * (answer - now))
    counted.sort()
    rate = (len(counted) - 1) / (counted[-1] - counted[0])
    assert rate >= 30 * 0.97
    assert max(bisect.bisect_right(counted, t + 1.0) - i for i, t in enumerate(counted)) <= 30


def test_a_paid_pace_catches_up_a_pause_of_the_event_loop_inside_the_limit() -> None:
    """At 1,000 a second a 60 ms pause (a garbage collection) is 60 gaps: the schedule is kept,
    the sends it owes go at once, and still no second holds more than 1,000 answers."""
    pace = Pace(1000)
    for n in range(500):
        pace.spend(1, now=n * pace.gap)
        pace.answered_at(1, now=n * pace.gap + 0.002)
    owed_from = pace.next_free
    resumed = owed_from + 0.060  # the loop was paused
    pace.spend(1, now=resumed)
    assert pace.next_free == pytest.approx(owed_from + pace.gap), "the pause was caught up"
    caught_up = 1
    while pace.delay(1, resumed) == 0.0:
        pace.spend(1, now=resumed)
        caught_up += 1
    assert 55 <= caught_up <= 70, "the owed sends, not more"
    assert len(pace.answered.sent) + pace.in_flight <= 1000
    pace.spend(1, now=resumed + 1.0)  # a pause of a second is not caught up: no burst
    assert pace.next_free == pytest.approx(resumed + 1.0 + pace.gap)


def test_a_message_held_up_in_transit_counts_until_its_answer() -> None:
    pace = Pace(30)
    for n in range(30):
        pace.spend(1, now=n * pace.gap)
    pace.answered_at(29, now=1.0)  # 29 answered at once, a second late
    assert pace.delay(1, 1.01) > 0, "the last one is still on its way: it may count any moment"
    pace.answered_at(1, now=1.01)
    assert pace.delay(1, 1.5) == pytest.approx(0.502), "a second after the first answer"


def test_a_private_chat_gets_a_short_burst_then_about_one_a_second() -> None:
    window = GroupWindow(3, 3.1, reserve=False)
    for _ in range(3):
        assert window.delay(CARDS, 1, 0.0) == 0.0, "no reserve in a private chat"
        window.spend(1, now=0.0)
    assert window.delay(PEOPLE, 1, 0.5) == pytest.approx(2.6)
    assert window.idle(3.2)
    assert GroupWindow(3, 3.1, reserve=False).delay(CARDS, 5, 0.0) == 0.0, "an album goes whole"


async def test_paid_sends_have_their_own_pace_and_leave_the_free_one_alone() -> None:
    budget = TelegramBudget(30, 20, private_per_second=1, paid_per_second=1000)
    sent: list[float] = []

    async def send() -> bool:
        sent.append(time.monotonic())
        return True

    paid = [{"chat_id": 1000 + n, "allow_paid_broadcast": True} for n in range(60)]
    await asyncio.gather(
        *(budget.process_request(send, (), {}, "sendMessage", data, None) for data in paid)
    )
    assert len(sent) == 60 and sent[-1] - sent[0] < 1.0, "60 paid messages: not 2 s at 30/s"
    assert budget.pace is not None and not budget.pace.answered.sent, "the free pace is untouched"
    assert budget.paid_pace is not None and budget.paid_pace.in_flight == 0
    await budget.process_request(send, (), {}, "sendMessage", {"chat_id": 7}, None)
    assert len(sent) == 61
