"""The test world: a Bot API emulator, the real Porchlight application polling it, and people.

`world.settle()` waits until the bot has taken every update, handled it, and drained every
delivery that is due: the point at which a story can look at what people received.
`world.ring_alarms()` is the moment timed work runs: whatever is due at the world's clock
(`world.clock`, `world.advance`) rings, as the alarm service's JobQueue job would ring it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.app import ALLOWED_UPDATES, PorchApp, build_application, porch_of
from bot.budget import RetryPolicy, TelegramBudget
from bot.config import Settings, load_settings
from bot.startup import webhook_options
from storage import Store
from tests.clock import MovableClock
from tests.postgres import TEMPLATE, Server, start_server
from tests.telegram.drivers import GroupChat, Officer, Person
from tests.telegram.emulator import BotApiEmulator, User

SETTLE_TIMEOUT = 10.0
RETRY_BACKOFF = 0.02


def porch_budget(app: PorchApp) -> TelegramBudget:
    budget = app.bot.rate_limiter
    assert isinstance(budget, TelegramBudget)
    return budget


class World:
    def __init__(self, emu: BotApiEmulator, database: str, *, forum: bool = False) -> None:
        self.emu = emu
        self.database = database  # a SQLite file, or a postgresql:// URL (--backend)
        self.app: PorchApp | None = None
        # Telegram's flood limits are the emulator's business in stories; the bot's own pacing
        # is switched on where a story is about it (and measured by `make bench`).
        self.overrides: dict[str, Any] = {
            "rate_limit_per_second": 0,
            "rate_limit_group_per_minute": 0,
            "rate_limit_private_per_second": 0,
            "rate_limit_paid_per_second": 0,
        }
        # A Wednesday noon: far from the default weekly broadcast, whatever day CI runs on.
        self.clock = MovableClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
        # Telegram's flood windows and the bot's budget follow the same movable clock.
        emu.clock = self.monotonic
        # The officer chat: a supergroup, the bot its administrator (every right, topics too);
        # `forum` turns topics on, as a group's owner does in its settings.
        self.officer_chat_id = emu.add_group(
            "Officers", type="supergroup", members={}, is_forum=forum
        )
        self.officer_chat = GroupChat(emu, self.officer_chat_id)
        # Presses a story replays after a crash: the restarted bot cannot know the first
        # process answered them, and Telegram's refusal of the second answer is expected.
        self.replayed_presses: set[str] = set()

    def settings(self) -> Settings:
        return load_settings(
            _env_file=None,
            bot_token=self.emu.token,
            officer_chat_id=self.officer_chat_id,
            **(
                {"database_url": self.database}
                if self.database.startswith("postgresql://")
                else {"database_path": self.database}
            ),
            telegram_api_url=self.emu.url,
            **self.overrides,
        )

    async def start_bot(self) -> PorchApp:
        """Start the bot the way `run_polling` (or `run_webhook`, when the settings have a
        WEBHOOK_URL) does, without taking over the event loop."""
        app = build_application(self.settings(), clock=self.clock, budget_clock=self.monotonic)
        # Stories keep the retry policy's shape but not its waiting (back-off 20 ms, not 0.5 s).
        porch_budget(app).policy = RetryPolicy(backoff=RETRY_BACKOFF)
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        settings = porch_of(app).settings
        if settings.webhook_url:
            await app.updater.start_webhook(**webhook_options(settings))
        else:
            await app.updater.start_polling(
                poll_interval=0, timeout=5, allowed_updates=ALLOWED_UPDATES
            )
        await app.start()
        self.app = app
        return app

    async def stop_bot(self, *, kill_deliveries: bool = False) -> None:
        """A graceful stop; `kill_deliveries` cuts sends in flight as a killed process would."""
        app, self.app = self.app, None
        if app is None:
            return
        drainer = porch_of(app).drainer
        if kill_deliveries and drainer is not None:
            await drainer.stop(grace=0)
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)

    async def restart_bot(self, *, kill_deliveries: bool = False) -> PorchApp:
        await self.stop_bot(kill_deliveries=kill_deliveries)
        return await self.start_bot()

    def monotonic(self) -> float:
        return self.clock.now().timestamp()

    async def advance(self, seconds: float) -> None:
        """Let `seconds` pass for the bot and Telegram at once (flood windows, back-off)."""
        self.clock.advance(timedelta(seconds=seconds))
        assert self.app is not None
        porch_budget(self.app).nudge()
        drainer = porch_of(self.app).drainer
        if drainer is not None:
            drainer.wake()
        await asyncio.sleep(0)

    async def ring_alarms(self, *, settle: bool = True) -> None:
        """Ring every alarm due at the world's clock (weekly broadcast, event reminders and
        feedback, delivery reports), then settle."""
        assert self.app is not None
        alarms = porch_of(self.app).alarms
        assert alarms is not None
        await alarms.check()
        if settle:
            await self.settle()

    @property
    def porch(self) -> Any:
        assert self.app is not None
        return porch_of(self.app)

    async def settle(self) -> None:
        app = self.app
        if app is None:
            return
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while not self.emu.all_updates_confirmed():
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not fetch its updates in time")
            await asyncio.sleep(0.002)
        await asyncio.wait_for(app.update_queue.join(), SETTLE_TIMEOUT)
        alarms = porch_of(app).alarms
        if alarms is not None:  # a commit re-arms the alarms: let that finish too
            await asyncio.wait_for(alarms.wait_idle(), SETTLE_TIMEOUT)
        drainer = porch_of(app).drainer
        if drainer is None:
            return
        idle = asyncio.ensure_future(drainer.wait_idle())
        try:
            while not idle.done():
                if any(h.waiting and not h.released for h in self.emu.holds):
                    return  # a request the test is holding: the outbox cannot be idle
                if time.monotonic() > deadline:
                    raise AssertionError(f"deliveries still pending\n{self.emu.dump()}")
                await asyncio.sleep(0.002)
        finally:
            idle.cancel()

    def resident(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language: str = "en",
    ) -> Person:
        user = self.emu.add_user(
            first_name, last_name=last_name, username=username, language_code=language
        )
        return Person(self.emu, user, self.settle)

    def officer(self, first_name: str, *, username: str | None = None) -> Officer:
        user = self.emu.add_user(first_name, username=username)
        self.emu.set_member(self.officer_chat_id, user.id, "member")
        return Officer(self.emu, user, self.officer_chat_id, self.settle)

    def stranger_in_officer_chat(self, first_name: str) -> Officer:
        """Someone whose messages appear in the chat but who is not (or no longer) a member."""
        user = self.emu.add_user(first_name)
        return Officer(self.emu, user, self.officer_chat_id, self.settle)

    async def outbox(self) -> dict[str, int]:
        async with self.porch.store.read() as tx:
            counts: dict[str, int] = await tx.outbox.counts()
            return counts


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator()
    await emu.start()
    yield emu
    await emu.stop()


# The backend: `pytest --backend=postgresql` (or PORCHLIGHT_TEST_BACKEND) runs every story on
# a throwaway PostgreSQL; `make test` runs the suite once on each backend.
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("PORCHLIGHT_TEST_BACKEND", "sqlite"),
        help="the database the suite runs on (default: sqlite)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): a test of SQLite itself, skipped on PostgreSQL"
    )
    config.addinivalue_line(
        "markers", "postgresql_only(reason): needs a shared database, skipped on SQLite"
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backend: {config.getoption('--backend')}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    backend = config.getoption("--backend")
    skipped = "sqlite_only" if backend == "postgresql" else "postgresql_only"
    for item in items:
        marker = item.get_closest_marker(skipped)
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            label = "SQLite only" if skipped == "sqlite_only" else "PostgreSQL only"
            item.add_marker(pytest.mark.skip(reason=f"{label}: {reason}"))


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[Server | None]:
    """The run's throwaway PostgreSQL with a migrated template database (None on SQLite)."""
    if request.config.getoption("--backend") != "postgresql":
        yield None
        return
    server = start_server()
    try:
        # A thread of its own: no event loop may be running here.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _migrated_template(server)).result()
        yield server
    finally:
        server.stop()


async def _migrated_template(server: Server) -> None:
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await admin.close()
    store = Store(server.url(TEMPLATE))
    await store.open()
    await store.close()


@pytest.fixture
async def database(postgres_server: Server | None, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database for one test: a SQLite file, or a PostgreSQL database copied from the
    migrated template (and dropped afterwards)."""
    if postgres_server is None:
        yield str(tmp_path / "porchlight.sqlite3")
        return
    name = postgres_server.next_name()
    admin = await asyncpg.connect(postgres_server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await admin.close()
    yield postgres_server.url(name)
    admin = await asyncpg.connect(postgres_server.url())
    try:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


async def seed_subscribers(
    emu: BotApiEmulator, store: Store, count: int, *, name: str = "Resident", language: str = "en"
) -> list[User]:
    """Residents who pressed Start and opted in to the weekly tip earlier, seeded straight into
    the database in one transaction (stories and benches about broadcasts start here)."""
    users = []
    async with store.transaction() as tx:
        for number in range(count):
            user = emu.add_user(f"{name}{number}", language_code=language)
            emu.chat(user.id).started = True
            await tx.residents.ensure(user.id, language)
            await tx.residents.set_opt_in(user.id, True)
            users.append(user)
    return users


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    """A bare Store with a `counters` table (rows 1 and 2 at 0): transactions' own stories."""
    opened = Store(database)
    await opened.open()
    async with opened.transaction() as tx:
        await tx.conn.execute("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        await tx.conn.execute("INSERT INTO counters VALUES (1, 0), (2, 0)")
    yield opened
    await opened.close()


@pytest.fixture
async def world(emulator: BotApiEmulator, database: str) -> AsyncIterator[World]:
    async with running(World(emulator, database)) as started:
        yield started


@pytest.fixture
async def forum_world(emulator: BotApiEmulator, database: str) -> AsyncIterator[World]:
    """The same world with topics on in the officer chat (a forum supergroup)."""
    async with running(World(emulator, database, forum=True)) as started:
        yield started


@contextlib.asynccontextmanager
async def running(world: World) -> AsyncIterator[World]:
    """The bot started in `world`; stopped after the story, whose button presses were each
    answered at most once."""
    emulator = world.emu
    await world.start_bot()
    yield world
    await world.stop_bot(kill_deliveries=True)
    # A second answer to a press is refused by Telegram with "query is too old".
    refused = [
        call
        for call in emulator.calls_to("answerCallbackQuery", ok=False)
        if "query is too old" in (call.error or "")
        and call.params.get("callback_query_id") not in world.replayed_presses
    ]
    assert refused == [], f"callback queries answered twice: {refused}"
