"""The emulator's webhook delivery and the test load balancer, against a tiny receiving server.

Why: replica stories are only as true as Telegram's side of the webhook: what counts as
delivered, what stays pending, how errors are worded, how many requests are in flight, and
what a balancer in front of dying backends answers.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from telegram import Bot
from telegram.error import Conflict

from .balancer import Balancer
from .emulator import BotApiEmulator

SECRET = "hook-secret_1"


class Receiver:
    """A webhook endpoint: records what arrives, answers ``status`` once ``gate`` is open."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.in_flight = 0
        self.peak = 0
        self.port = _free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            self.received.append(await request.json())
            self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
            await self.gate.wait()
            return web.Response(status=self.status, text="ok")
        finally:
            self.in_flight -= 1

    def ids(self) -> list[int]:
        return [u["update_id"] for u in self.received]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator()
    emulator.webhook_retry_first = 0.02  # Telegram waits seconds; stories do not
    emulator.webhook_retry_max = 0.1
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    try:
        yield server
    finally:
        server.gate.set()
        await server.stop()


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as real:
        yield real


async def test_updates_are_posted_with_the_secret_and_count_as_delivered_on_2xx(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    ana = emu.add_user("Ana")
    emu.user_sends(ana, text="before the webhook")  # pending from before: delivered too
    assert await bot.set_webhook(receiver.url, secret_token=SECRET)
    emu.user_sends(ana, text="hello <b>")
    await emu.wait_for(emu.all_updates_confirmed, what="both delivered")
    assert [u["message"]["text"] for u in receiver.received] == ["before the webhook", "hello <b>"]
    assert receiver.secrets == [SECRET, SECRET]
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.last_error_message) == (receiver.url, 0, None)
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates(timeout=0)


@pytest.mark.parametrize(
    ("status", "wording"),
    [
        (502, "Wrong response from the webhook: 502 Bad Gateway"),
        (403, "Wrong response from the webhook: 403 Forbidden"),
    ],
)
async def test_a_non_2xx_answer_keeps_the_update_pending_and_it_is_retried(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver, status: int, wording: str
) -> None:
    receiver.status = status
    await bot.set_webhook(receiver.url)
    emu.user_sends(emu.add_user("Ben"), text="/start")
    await emu.wait_for(lambda: len(receiver.received) >= 3, what="three attempts")
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1 and info.last_error_message == wording
    assert info.last_error_date is not None
    receiver.status = 200
    await emu.wait_for(emu.all_updates_confirmed, what="delivery once the endpoint answers 200")
    [update_id] = set(receiver.ids())
    attempts = emu.webhook_deliveries(update_id)
    assert [a.ok for a in attempts][-1] and not any(a.ok for a in attempts[:-1])
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_a_refused_connection_and_a_slow_endpoint_are_worded_as_telegram_does(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(f"http://127.0.0.1:{_free_port()}/hook")  # nobody listens there
    emu.user_sends(emu.add_user("Cai"), text="hi")
    await emu.wait_for(lambda: len(emu.webhook_attempts) >= 2, what="two refused attempts")
    assert (await bot.get_webhook_info()).last_error_message == "Connection refused"

    emu.webhook_timeout = 0.1
    receiver.gate.clear()  # answers nothing
    await bot.set_webhook(receiver.url)
    await emu.wait_for(
        lambda: emu.webhook_last_error_message == "Read timeout expired", what="a timeout"
    )
    assert emu.pending_update_count() == 1
    receiver.gate.set()
    await emu.wait_for(emu.all_updates_confirmed, what="delivery once it answers in time")


async def test_at_most_max_connections_are_in_flight(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    receiver.gate.clear()
    await bot.set_webhook(receiver.url, max_connections=3)
    people = [emu.add_user(f"P{i}") for i in range(8)]
    for person in people:
        emu.user_sends(person, text="hi")
    await emu.wait_for(lambda: receiver.in_flight == 3, what="three requests held")
    await asyncio.sleep(0.05)
    assert receiver.in_flight == 3 and emu.pending_update_count() == 8
    receiver.gate.set()
    await emu.wait_for(emu.all_updates_confirmed, what="all eight delivered")
    assert receiver.peak == 3 and len(receiver.received) == 8
    assert (await bot.get_webhook_info()).max_connections == 3


async def test_one_chat_waits_for_its_previous_update_unless_order_is_off(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    dee, eli = emu.add_user("Dee"), emu.add_user("Eli")
    receiver.gate.clear()
    await bot.set_webhook(receiver.url)
    for text in ("one", "two", "three"):
        emu.user_sends(dee, text=text)
    emu.user_sends(eli, text="other chat")
    await emu.wait_for(lambda: receiver.in_flight == 2, what="one request per chat")
    await asyncio.sleep(0.05)
    assert sorted(u["message"]["text"] for u in receiver.received) == ["one", "other chat"]
    receiver.gate.set()
    await emu.wait_for(emu.all_updates_confirmed)
    dees = [u["message"]["text"] for u in receiver.received if u["message"]["chat"]["id"] == dee.id]
    assert dees == ["one", "two", "three"]

    emu.webhook_order = "any"
    receiver.gate.clear()
    for text in ("four", "five", "six"):
        emu.user_sends(dee, text=text)
    await emu.wait_for(lambda: receiver.in_flight == 3, what="a chat's updates at once")
    receiver.gate.set()
    await emu.wait_for(emu.all_updates_confirmed)


async def test_drop_pending_updates_and_allowed_updates_are_honoured(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    fay = emu.add_user("Fay")
    emu.webhook_delivery = False  # set, but nothing posted: the updates wait
    await bot.set_webhook(receiver.url)
    old = emu.user_sends(fay, text="old news")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    emu.webhook_delivery = True
    await bot.set_webhook(receiver.url, drop_pending_updates=True, allowed_updates=["message"])
    emu.user_edits(fay, None, old.message_id, "old news, edited")  # not wanted
    emu.user_sends(fay, text="new")
    await emu.wait_for(emu.all_updates_confirmed)
    await asyncio.sleep(0.05)
    assert [u["message"]["text"] for u in receiver.received] == ["new"]
    assert [list(u) for u in emu.suppressed_updates] == [["edited_message"]]


async def test_delete_webhook_stops_posting_and_getupdates_takes_over(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    gus = emu.add_user("Gus")
    await bot.set_webhook(receiver.url)
    await bot.delete_webhook()
    emu.user_sends(gus, text="for polling")
    await asyncio.sleep(0.05)
    assert receiver.received == []
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.text == "for polling"


# --- the balancer -----------------------------------------------------------------------------


async def _post(url: str, payload: dict[str, Any]) -> tuple[int, str | None]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=payload, headers=headers) as response,
    ):
        await response.read()
        return response.status, response.reason


async def test_the_balancer_takes_backends_in_turn_and_skips_one_that_refuses() -> None:
    first, second = await Receiver().start(), await Receiver().start()
    dead = f"http://127.0.0.1:{_free_port()}"
    backends = [f"http://127.0.0.1:{r.port}" for r in (first, second)] + [dead]
    try:
        async with Balancer(backends) as lb:
            for n in range(6):
                assert await _post(f"{lb.url}/hook", {"update_id": n}) == (200, "OK")
            assert first.ids() == [0, 2, 3, 5] and second.ids() == [1, 4]
            assert first.secrets[0] == SECRET  # headers go through
            assert lb.skipped[dead] == 2
    finally:
        await first.stop()
        await second.stop()


async def test_the_balancer_answers_502_when_no_backend_is_up_and_504_when_one_stalls() -> None:
    async with Balancer([f"http://127.0.0.1:{_free_port()}"]) as lb:
        assert await _post(f"{lb.url}/hook", {"update_id": 1}) == (502, "Bad Gateway")
    slow = await Receiver().start()
    slow.gate.clear()
    try:
        async with Balancer([f"http://127.0.0.1:{slow.port}"], read_timeout=0.1) as lb:
            assert await _post(f"{lb.url}/hook", {"update_id": 2}) == (504, "Gateway Time-out")
    finally:
        slow.gate.set()
        await slow.stop()


async def test_through_the_balancer_telegram_sees_502_while_every_backend_is_down(
    emu: BotApiEmulator, bot: Bot
) -> None:
    port = _free_port()
    async with Balancer([f"http://127.0.0.1:{port}"]) as lb:
        await bot.set_webhook(f"{lb.url}/hook", secret_token=SECRET)
        emu.user_sends(emu.add_user("Hal"), text="anyone?")
        await emu.wait_for(lambda: emu.webhook_last_error_message is not None)
        info = await bot.get_webhook_info()
        assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
        backend = Receiver()
        backend.port = port
        await backend.start()
        try:
            await emu.wait_for(emu.all_updates_confirmed, what="redelivery once a backend is up")
            assert [u["message"]["text"] for u in backend.received] == ["anyone?"]
            assert backend.secrets == [SECRET]
        finally:
            await backend.stop()
