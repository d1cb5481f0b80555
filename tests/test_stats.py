"""/stats for officers, and the same report posted by itself every week as the digest."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from bot import charts, stats
from bot.config import ConfigError, load_settings
from tests.conftest import World
from tests.postgres import TEMPLATE
from tests.test_escalation import GUN
from tests.test_tip_line import file_tip
from tests.test_trends import PNG, spy_on_charts, uploaded_png

TUESDAY_WEEK_46 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
WEDNESDAY_WEEK_47 = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
WEDNESDAY_WEEK_48 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MONDAY_8H = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def deployed_on(world: World, moment: datetime) -> None:
    """A deployment that started at `moment`: a new database, the clock there."""
    await world.stop_bot()
    if world.database.startswith("postgresql://"):  # a new database on the same server
        url = urlsplit(world.database)
        name = f"{url.path.lstrip('/')}_history"
        admin = await asyncpg.connect(world.database)
        try:
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        finally:
            await admin.close()
        world.database = urlunsplit(url._replace(path=f"/{name}"))
    else:
        world.database = str(Path(world.database).with_name("history.sqlite3"))
    world.clock.set(moment)
    await world.start_bot()


def table_rows(text: str) -> dict[str, list[int]]:
    """The week-by-category table of a report: row label → counts, oldest week first."""
    rows = {}
    for line in text.splitlines():
        label, *numbers = line.split() or [""]
        if numbers and all(n.isdigit() for n in numbers) and not label.isdigit():
            rows[label] = [int(n) for n in numbers]
    return rows


def digests(world: World) -> list:  # type: ignore[type-arg]
    return [m for m in world.officer_chat.bot_messages() if "Weekly digest" in (m.text or "")]


async def test_stats_tell_officers_where_the_last_eight_weeks_stand(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = spy_on_charts(monkeypatch)
    await deployed_on(world, TUESDAY_WEEK_46)
    dana = world.officer("Dana")
    alice = world.resident("Alice")
    card = await file_tip(world, alice)  # a suspicious vehicle
    await world.advance(10 * 60)
    await dana.replies_to(card, "We are looking into it")  # first answer after 10 minutes
    await world.advance(110 * 60)
    await dana.taps("✅ Resolve", card)  # resolved after 2 hours
    await alice.taps("4 ★")

    world.clock.set(WEDNESDAY_WEEK_47)
    bob = world.resident("Bob")
    card = await file_tip(world, bob, "A man trying car doors", category="Suspicious person")
    await world.advance(30 * 60)
    await dana.replies_to(card, "On our way")  # 30 minutes
    await world.advance(24 * 3600 - 30 * 60)
    await dana.taps("✅ Resolve", card)  # a day
    await bob.taps("5 ★")

    world.clock.set(WEDNESDAY_WEEK_48)
    card = await file_tip(world, world.resident("Carol"), "Buy cheap <pills> & more")
    await dana.taps("🚫 Spam", card)
    await file_tip(world, world.resident("Dave"), GUN, category="Suspicious person")  # urgent
    card = await file_tip(world, world.resident("Eve"), "A loose manhole cover", category="Other")
    await dana.taps("👀 Acknowledge", card)

    world.officer_chat.skip_existing()
    await dana.says("/stats")
    text = (await world.officer_chat.next_message()).text
    photo = await world.officer_chat.next_message()

    assert "📊 Statistics — weeks 41–48 (5 Oct – 29 Nov), this week so far" in text
    assert "Open tips now: 2 — new 1 (🚨 1 urgent) · acknowledged 1 · taken 0" in text
    assert "Tips filed: 4, and 1 marked as spam (counted apart)" in text
    assert (
        "Time to first answer: median 20 minutes, 90th percentile 30 minutes (answered: 2 of 4)"
        in text
    )
    assert (
        "Time to resolution: median 13 hours, 90th percentile 24 hours (resolved: 2 of 4)" in text
    )
    assert "Ratings: 2, average 4.5 ★" in text
    assert "Broadcasts: none" in text
    assert "Events held: 0, residents going 0, feedback — ★ (rated by 0)" in text
    rows = table_rows(text)
    assert rows["Veh"] == [0, 0, 0, 0, 0, 1, 0, 0]
    assert rows["Pers"] == [0, 0, 0, 0, 0, 0, 1, 1]
    assert rows["Other"] == [0, 0, 0, 0, 0, 0, 0, 1]
    assert rows["All"] == [0, 0, 0, 0, 0, 1, 1, 2]
    assert rows["Spam"] == [0, 0, 0, 0, 0, 0, 0, 1]
    assert "<pills>" not in text  # statistics never quote a resident

    assert photo.caption and "Statistics — weeks 41–48" in photo.caption
    png = uploaded_png(world, photo)
    assert png.startswith(PNG) and (photo.photo[-1]["width"], photo.photo[-1]["height"]) == (
        800,
        450,
    )
    (chart,) = drawn
    assert png == charts.render_png(chart)
    plotted = {series.key: list(series.values) for series in chart.series}
    assert plotted["vehicle"] == rows["Veh"] and plotted["person"] == rows["Pers"]
    assert plotted["spam"] == rows["Spam"]
    assert chart.bars[0] == "W41\n5 Oct" and chart.marks[-1] == "so far"
    assert "Suspicious vehicle" in [series.label for series in chart.series]


async def test_only_officers_in_the_officer_chat_get_statistics(world: World) -> None:
    await file_tip(world, world.resident("Alice"))
    stranger = world.stranger_in_officer_chat("Mallory")
    await stranger.says("/stats")
    assert world.officer_chat.last_message().text == (
        "Only members of the officer chat can act on tips."
    )
    resident = world.resident("Eve")
    await resident.says("/stats")
    assert resident.last_message().text == "This command is for officers, in the officer chat."
    assert not [m for m in world.emu.bot_messages(resident.id) if m.photo]


async def test_statistics_in_the_officer_chats_language_count_broadcasts_and_events(
    world: World,
) -> None:
    world.overrides["default_language"] = "es"
    await world.restart_bot()
    officer = world.officer("Sargento")
    alice = world.resident("Alice")
    await alice.says("/start")
    await alice.taps("Yes, keep me informed")
    await officer.says("/broadcast")
    await officer.says("Bike thefts near the station")
    await officer.taps("🚨 Alerta")
    await officer.taps("Enviar")
    world.officer_chat.skip_existing()
    await officer.says("/stats")
    text = (await world.officer_chat.next_message()).text
    assert "📊 Estadísticas — semanas 41–48 (5 oct – 29 nov), esta semana hasta ahora" in text
    assert "Difusiones: alertas 1" in text
    assert "mensajes 1: entregados 1, pendientes 0, fallidos 0, inalcanzables 0" in text
    assert "Avisos abiertos ahora: ninguno" in text
    assert "mediana —, percentil 90 — (respondidos: 0 de 0)" in text


async def test_the_digest_is_posted_monday_morning_once_a_week_across_restarts(
    world: World,
) -> None:
    await file_tip(world, world.resident("Alice"))
    world.clock.set(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
    await world.ring_alarms()
    assert digests(world) == []

    world.clock.set(MONDAY_8H)
    await world.ring_alarms()
    (digest,) = digests(world)
    assert "📊 Weekly digest — weeks 41–48 (5 Oct – 29 Nov)" in digest.text
    assert "so far" not in digest.text and "Tips filed: 1" in digest.text
    assert "Open tips now: 1 — new 1" in digest.text
    chart = world.officer_chat.bot_messages()[-1]
    assert chart.caption and "Weekly digest" in chart.caption
    assert uploaded_png(world, chart).startswith(PNG)

    await world.restart_bot()
    await world.ring_alarms()
    await world.advance(3600)
    await world.ring_alarms()
    assert len(digests(world)) == 1

    world.clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    await world.ring_alarms()
    assert len(digests(world)) == 2
    assert "weeks 42–49 (12 Oct – 6 Dec)" in digests(world)[-1].text
    async with world.porch.store.read() as tx:
        rows = await tx.outbox.rows("digest")
    assert [[c["type"] for c in row.payload.contents] for row in rows if row.payload] == [
        ["text", "chart"],
        ["text", "chart"],
    ]


async def test_a_digest_missed_while_down_is_posted_once_at_start_while_timely(
    world: World,
) -> None:
    await world.stop_bot()
    world.clock.set(datetime(2026, 11, 30, 20, 0, tzinfo=UTC))  # 12 hours late
    await world.start_bot()
    await world.settle()
    assert len(digests(world)) == 1
    await world.restart_bot()
    await world.ring_alarms()
    assert len(digests(world)) == 1


async def test_a_digest_missed_by_more_than_the_grace_is_skipped_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await world.stop_bot()
    world.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # 25 hours late
    with caplog.at_level(logging.WARNING, logger="bot.digest"):
        await world.start_bot()
        await world.ring_alarms()
    assert digests(world) == []
    assert "digest:2026-W49 missed by 1 day, 1:00:00" in caplog.text
    assert world.porch.alarms.armed("officer-digest") == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_the_digest_schedule_and_the_trends_threshold_are_checked_at_start() -> None:
    base = {"_env_file": None, "bot_token": "123:abcdefgh", "officer_chat_id": -1}
    with pytest.raises(ConfigError, match="DIGEST_CRON '0 8 \\* \\* \\*' is not a usable"):
        load_settings(**base, digest_cron="0 8 * * *")
    with pytest.raises(ConfigError, match="TRENDS_MIN_COUNT"):
        load_settings(**base, trends_min_count=1)
    with pytest.raises(ConfigError, match="DIGEST_GRACE"):
        load_settings(**base, digest_grace="soon")
    settings = load_settings(**base)
    assert (settings.digest_cron, settings.trends_min_count) == ("0 8 * * MON", 5)


def test_weeks_are_iso_weeks_in_the_time_zone_across_a_change_of_clocks() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    # Sunday 1 November, 23:30 in Madrid (22:30 UTC): still the week of Monday 26 October.
    period = stats.weeks_up_to(datetime(2026, 11, 1, 22, 30, tzinfo=UTC), madrid, current=True)
    assert period.mondays[-1] == date(2026, 10, 26) and period.week_number(7) == 44
    assert all(bound.astimezone(madrid).time().hour == 0 for bound in period.bounds)
    lengths = [
        later.astimezone(UTC) - earlier.astimezone(UTC)
        for earlier, later in zip(period.bounds, period.bounds[1:], strict=False)
    ]
    # Clocks went back on Sunday 25 October: that week lasted 169 hours.
    assert lengths[-2] == timedelta(hours=169) and lengths[-1] == timedelta(hours=168)
    digest = stats.weeks_up_to(datetime(2026, 11, 2, 7, 0, tzinfo=UTC), madrid, current=False)
    assert digest.mondays == period.mondays  # Monday 08:00: the 8 complete weeks before
