"""/trends: residents see tips by category and week for the whole neighbourhood, and never a
number below TRENDS_MIN_COUNT — not in the text, not in the chart, not by subtraction."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from bot import charts, tips, trends
from bot.categories import CATEGORIES
from tests.conftest import World

K = 5
CATS = list(CATEGORIES)  # person, vehicle, theft, vandalism, hazard, other
PNG = b"\x89PNG\r\n\x1a\n"


# The rule, unit by unit ------------------------------------------------------------------


def test_categories_with_enough_tips_are_shown_as_they_are() -> None:
    view = trends.suppress(dict.fromkeys(CATS, 5), K)
    assert view == trends.WeekView(tuple((c, 5) for c in CATS))
    assert view.numbers() == [5] * 6


def test_a_single_small_category_is_never_shown_even_merged() -> None:
    counts = {"vehicle": 12, "person": 7, "theft": 9, "vandalism": 5, "hazard": 6, "other": 4}
    view = trends.suppress(counts, K)
    assert view.together is None and view.hidden
    assert 4 not in view.numbers()


def test_four_tips_in_one_category_and_nothing_else_show_no_number() -> None:
    view = trends.suppress({"vandalism": 4}, K)
    assert view == trends.WeekView((), hidden=True)
    assert view.numbers() == []


def test_small_categories_are_shown_together_when_that_gives_none_of_them_away() -> None:
    # Three small categories: 4 + 3 + 0 = 7 ≤ (3 - 1) × 4, so each could be anything from 0 to 4.
    counts = {"vehicle": 9, "person": 9, "theft": 9, "vandalism": 4, "hazard": 3}
    view = trends.suppress(counts, K)
    assert view.shown == (("person", 9), ("vehicle", 9), ("theft", 9))
    assert view.together == 7 and not view.hidden


def test_two_small_categories_of_four_are_not_shown_as_eight() -> None:
    # 8 from two categories that are both below 5 can only be 4 + 4: shown, it tells both.
    counts = {"vehicle": 9, "person": 9, "theft": 9, "hazard": 9, "vandalism": 4, "other": 4}
    view = trends.suppress(counts, K)
    assert view.together is None and view.hidden and 8 not in view.numbers()


def test_a_sum_below_the_threshold_stays_hidden() -> None:
    view = trends.suppress({"vehicle": 20, "theft": 2, "other": 2}, K)
    assert view.shown == (("vehicle", 20),) and view.hidden and view.numbers() == [20]


def test_a_quiet_week_and_the_exact_threshold() -> None:
    assert trends.suppress({}, K) == trends.WeekView((), hidden=True)
    assert trends.suppress({"person": 5, "other": 4}, K).shown == (("person", 5),)
    assert trends.suppress({"person": 5}, 6).hidden


@pytest.mark.parametrize("minimum", [2, 3])
def test_no_hidden_category_can_be_worked_out_from_anything_shown(minimum: int) -> None:
    """Every table of six categories with 0..minimum+2 tips: group the tables by what a
    resident sees; behind each view, every hidden category must still be able to be any number
    from 0 to minimum - 1 (so neither its count nor even "at least one" can be read), and every
    number shown is at least the minimum."""
    behind: dict[trends.WeekView, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for values in itertools.product(range(minimum + 3), repeat=len(CATS)):
        counts = dict(zip(CATS, values, strict=True))
        view = trends.suppress(counts, minimum)
        assert all(n >= minimum for n in view.numbers())
        shown = dict(view.shown)
        assert all(counts[c] == n for c, n in shown.items())
        for category in CATS:
            if category not in shown:
                behind[view][category].add(counts[category])
    for view, hidden in behind.items():
        for category, possible in hidden.items():
            assert possible == set(range(minimum)), (view, category, possible)


def test_the_value_axis_is_labelled_in_multiples_of_the_threshold_without_zero() -> None:
    assert trends.y_ticks([0, 7, 23], 5) == (5, 10, 15, 20, 25)
    assert trends.y_ticks([0, 0], 5) == (5,)
    assert trends.y_ticks([61], 5) == (15, 30, 45, 60, 75)


# The story ---------------------------------------------------------------------------------


async def seed_tips(world: World, when: datetime, category: str, count: int) -> None:
    """Residents filed `count` tips of `category` at `when` (seeded: the story is /trends)."""
    world.clock.set(when)
    store, porch = world.porch.store, world.porch
    for _ in range(count):
        user = world.emu.add_user("Neighbour")
        async with store.transaction() as tx:
            await tx.residents.ensure(user.id, "en")
        draft = tips.Draft(key=f"seed:{user.id}", category=category, description="Seen it")
        await tips.file_tip(
            store,
            resident_id=user.id,
            language="en",
            draft=draft,
            reporter_name=None,
            officers=porch.officers,
            tips_per_hour=5,
        )
    await world.settle()


def spy_on_charts(monkeypatch: pytest.MonkeyPatch) -> list[charts.ChartSpec]:
    """Every chart the bot draws, as the data it plots (a PNG cannot be read back)."""
    charts.forget()  # charts drawn by earlier stories are drawn again
    drawn: list[charts.ChartSpec] = []
    draw = charts.render_png

    def recording(spec: charts.ChartSpec) -> bytes:
        drawn.append(spec)
        return draw(spec)

    monkeypatch.setattr(charts, "render_png", recording)
    return drawn


def residents_charts(drawn: list[charts.ChartSpec]) -> list[charts.ChartSpec]:
    """The /trends charts among those drawn (the officers' digest may be drawn meanwhile)."""
    return [spec for spec in drawn if any(s.key == trends.SEVERAL for s in spec.series)]


def uploaded_png(world: World, message) -> bytes:  # type: ignore[no-untyped-def]
    assert message.photo, f"not a photo: {message}"
    return world.emu.files[message.photo[-1]["file_id"]].data


TUESDAY_WEEK_46 = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)  # the week of Monday 9 Nov
WEDNESDAY_WEEK_47 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # the week of Monday 16 Nov
MONDAY_WEEK_49 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("language", ["en", "es"])
async def test_four_tips_in_one_category_appear_nowhere(
    world: World, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    drawn = spy_on_charts(monkeypatch)
    await seed_tips(world, TUESDAY_WEEK_46, "vandalism", 4)
    await seed_tips(world, WEDNESDAY_WEEK_47, "vehicle", 6)
    await seed_tips(world, WEDNESDAY_WEEK_47, "theft", 4)
    world.clock.set(MONDAY_WEEK_49)
    resident = world.resident("Lucía" if language == "es" else "Alice", language=language)
    await resident.says("/trends")

    text_message, photo = resident.inbox[-2:]
    text = text_message.text
    # No week shown has a 4 in its date (5 Oct … 23 Nov): a "4" would be a count.
    assert "4" not in text
    if language == "en":
        assert "Tips in the neighbourhood" in text and "A number below 5 is never shown" in text
        assert "Week of 9 Nov: fewer than 5 tips in each category" in text
        assert "Week of 16 Nov: Suspicious vehicle 6 · other categories fewer than 5 each" in text
    else:
        assert "Avisos en el barrio" in text and "menor que 5" in text
        assert "Semana del 9 nov: menos de 5 avisos en cada categoría" in text
        assert "Semana del 16 nov: Vehículo sospechoso 6 · otras categorías menos de 5" in text

    (spec,) = residents_charts(drawn)
    assert uploaded_png(world, photo) == charts.render_png(spec)  # this very chart was sent
    assert uploaded_png(world, photo).startswith(PNG)
    plotted = [value for series in spec.series for value in series.values]
    assert sorted(set(plotted)) == [0, 6]  # 0: nothing drawn
    assert spec.heights() == [0, 0, 0, 0, 0, 0, 6, 0]
    assert spec.y_ticks and all(tick >= 5 for tick in spec.y_ticks)
    assert all(mark == "<5" for mark in spec.marks)  # every week hides small categories
    words = " ".join([spec.title, spec.y_label, *(series.label for series in spec.series)])
    assert not re.search(r"[0-9]", words)
    assert set(re.findall(r"[0-9]+", spec.x_label)) == {"5"}


async def test_trends_are_also_under_safety_and_only_complete_weeks_count(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = spy_on_charts(monkeypatch)
    await seed_tips(world, TUESDAY_WEEK_46, "person", 3)
    await seed_tips(world, TUESDAY_WEEK_46, "hazard", 3)
    await seed_tips(world, TUESDAY_WEEK_46, "vehicle", 5)
    world.clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    await seed_tips(world, datetime(2026, 11, 25, 12, 0, tzinfo=UTC), "theft", 7)  # this week
    alice = world.resident("Alice")
    await alice.says("/safety")
    await alice.taps("📊 Tips in the neighbourhood")
    text = alice.inbox[-2].text
    assert "Week of 9 Nov: Suspicious vehicle 5 · other categories together 6" in text
    assert "Break-in" not in text  # this week is not over: not shown yet
    assert "16 Nov" in text and "23 Nov" not in text
    assert alice.inbox[-1].photo
    (spec,) = residents_charts(drawn)
    several = next(s for s in spec.series if s.key == "several")
    assert several.values[6] == 6 and spec.heights()[6] == 11  # the week of 9 Nov

    await alice.says("/trends")  # the same chart all week: not drawn again
    assert alice.inbox[-2].text == text and len(residents_charts(drawn)) == 1
    assert uploaded_png(world, alice.inbox[-1]) == uploaded_png(world, alice.inbox[-3])
