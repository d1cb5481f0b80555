"""The aiohttp Bot API client (bot/http.py) against the emulator's real answers: what
python-telegram-bot raises for each of Telegram's kinds of weather, as with its own httpx."""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.http import AiohttpRequest, make_request
from tests.telegram.emulator import BotApiEmulator, User

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def aiohttp_bot(emu: BotApiEmulator, *, pool: int = 8, url: str | None = None) -> Bot:
    base = url or emu.url
    return Bot(
        emu.token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=AiohttpRequest(connection_pool_size=pool),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    async with aiohttp_bot(emulator) as real_bot:
        yield real_bot


@pytest.fixture
def alice(emulator: BotApiEmulator) -> User:
    user = emulator.add_user("Alice")
    emulator.user_starts(user)
    return user


async def test_a_message_goes_out_with_html_and_buttons_intact(
    bot: Bot, emulator: BotApiEmulator, alice: User
) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Take & go", callback_data="t:1")]])
    text = "<b>Van</b> on Elm &amp; 5th &lt;tonight&gt; — ñandú 🚐"
    sent = await bot.send_message(alice.id, text, parse_mode="HTML", reply_markup=markup)
    assert sent.text == "Van on Elm & 5th <tonight> — ñandú 🚐"
    (message,) = emulator.bot_messages(alice.id)
    assert message.text == sent.text
    assert message.raw["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "t:1"


async def test_429_is_retry_after_with_telegrams_seconds(
    bot: Bot, emulator: BotApiEmulator, alice: User
) -> None:
    emulator.fail_next_flood("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "a")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert "Too Many Requests" in str(emulator.calls_to("sendMessage", ok=False)[0].error)


async def test_502_is_a_network_error_and_telegram_words_pass_through(
    bot: Bot, emulator: BotApiEmulator, alice: User
) -> None:
    emulator.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    with pytest.raises(NetworkError, match="Bad Gateway") as caught:
        await bot.send_message(alice.id, "a")
    assert not isinstance(caught.value, TimedOut)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "nobody")
    emulator.fail_next(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user"
    )
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(alice.id, "b")
    emulator.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1009,
    )
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(alice.id, "c")
    assert migrated.value.new_chat_id == -1009


async def test_a_slow_answer_times_out_and_telegram_still_delivers(
    bot: Bot, emulator: BotApiEmulator, alice: User
) -> None:
    emulator.latency = 0.5
    with pytest.raises(TimedOut):
        await bot.send_message(alice.id, "slow", read_timeout=0.1)
    await emulator.wait_for(lambda: bool(emulator.bot_messages(alice.id)), timeout=2)
    assert [m.text for m in emulator.bot_messages(alice.id)] == ["slow"]
    emulator.latency = 0.0
    assert (await bot.send_message(alice.id, "fast again")).text == "fast again"


async def test_a_request_waiting_for_a_pooled_connection_times_out_unsent(
    emulator: BotApiEmulator, alice: User
) -> None:
    async with aiohttp_bot(emulator, pool=1) as bot:
        with emulator.hold("sendMessage") as hold:
            first = asyncio.create_task(bot.send_message(alice.id, "held"))
            await hold.wait_for_request()
            with pytest.raises(TimedOut, match=r"not\* sent"):
                await bot.send_message(alice.id, "queued", pool_timeout=0.1, connect_timeout=0.1)
        assert (await first).text == "held"
    assert [m.text for m in emulator.bot_messages(alice.id)] == ["held"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_a_network_error_naming_it(emulator: BotApiEmulator) -> None:
    bot = aiohttp_bot(emulator, url=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError") as caught:
        await bot.initialize()
    assert not isinstance(caught.value, TimedOut)
    await bot.shutdown()


async def test_a_wrong_token_is_invalid_token(emulator: BotApiEmulator) -> None:
    bot = Bot(
        "999:WRONG-token",
        base_url=f"{emulator.url}/bot",
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(),
    )
    with pytest.raises(InvalidToken):
        await bot.initialize()
    await bot.shutdown()


async def test_uploads_keep_bytes_and_file_names(
    bot: Bot, emulator: BotApiEmulator, alice: User
) -> None:
    data = b"BEGIN:VCALENDAR\r\nSUMMARY:Safety meeting\r\nEND:VCALENDAR\r\n"
    name = 'Reunión "vecinal" 5 dic.ics'
    sent = await bot.send_document(
        alice.id,
        InputFile(data, filename=name),
        caption="<b>Add to calendar</b>",
        parse_mode="HTML",
    )
    assert sent.document is not None and sent.caption == "Add to calendar"
    assert sent.document.file_name == name
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == data


async def test_long_polling_and_a_stopped_client(
    bot: Bot, emulator: BotApiEmulator, alice: User
) -> None:
    emulator.user_sends(alice, text="hello")
    *_, update = await bot.get_updates(timeout=1)  # after Alice's /start
    assert update.message is not None and update.message.text == "hello"
    request = AiohttpRequest()
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{emulator.url}/bot{emulator.token}/getMe", "POST")
    await request.initialize()  # and it opens again
    code, body = await request.do_request(f"{emulator.url}/bot{emulator.token}/getMe", "POST")
    assert code == 200 and b'"ok":true' in body.replace(b" ", b"")
    await request.shutdown()


def test_http_backend_chooses_the_client() -> None:
    from telegram.request import HTTPXRequest

    assert isinstance(make_request("aiohttp", pool_size=4), AiohttpRequest)
    assert isinstance(make_request("httpx", pool_size=4), HTTPXRequest)
