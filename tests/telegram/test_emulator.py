"""Tests of the Bot API emulator through the real ``telegram.Bot``.

Why: bot tests are only as good as the emulator's fidelity. These prove that PTB's own request
encoding and ``de_json`` work against it, and that errors carry Telegram's codes and wording
(as PTB reshapes them: it strips "Bad Request: " and capitalises the rest).
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import ssl
import time
from collections.abc import AsyncIterator
from typing import TypeVar

import aiohttp
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReactionTypeEmoji,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from .drivers import GroupChat, Person
from .emulator import BotApiEmulator, User, settle_noop, utf16_len

T = TypeVar("T")

pytestmark = [
    pytest.mark.asyncio,
    # PTB itself warns about its int→timedelta migration when building RetryAfter etc.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


# The emulator is plain HTTP; one shared TLS context spares httpx ~50 ms per client.
_TLS = ssl.create_default_context()


def make_bot(emu: BotApiEmulator) -> Bot:
    """A real PTB Bot pointed at the emulator (pool > 1 so concurrent calls don't queue)."""
    return Bot(
        emu.token,
        base_url=emu.base_url,
        base_file_url=emu.base_file_url,
        request=HTTPXRequest(connection_pool_size=8, httpx_kwargs={"verify": _TLS}),
        get_updates_request=HTTPXRequest(connection_pool_size=2, httpx_kwargs={"verify": _TLS}),
    )


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with make_bot(emu) as real_bot:
        yield real_bot


@pytest.fixture
def alice(emu: BotApiEmulator) -> User:
    """A resident who has pressed Start (the bot may write to her)."""
    user = emu.add_user("Alice", "Doe", username="alice_d")
    emu.user_starts(user)
    return user


def present(value: T | None) -> T:
    """Narrow an optional PTB attribute, failing the test when it is missing."""
    assert value is not None
    return value


async def drain(bot: Bot) -> tuple[Update, ...]:
    """Fetch and confirm everything pending."""
    updates = await bot.get_updates(timeout=0)
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return updates


# --------------------------------------------------------------------------------------------
# Transport and basics
# --------------------------------------------------------------------------------------------


async def test_get_me_initialises_bot(bot: Bot, emu: BotApiEmulator) -> None:
    me = await bot.get_me()
    assert bot.username == "porchlight_test_bot"
    assert me.is_bot and me.id == emu.bot.id
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False


async def test_wrong_token_and_unknown_method_use_telegram_json(emu: BotApiEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emu.url}/bot999:WRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.get(f"{emu.url}/bot{emu.token}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        # JSON bodies and query strings are accepted like form bodies.
        async with session.post(f"{emu.url}/bot{emu.token}/getMe", json={}) as resp:
            assert (await resp.json())["result"]["username"] == "porchlight_test_bot"


async def test_json_body_with_typed_values(emu: BotApiEmulator, alice: User) -> None:
    async with aiohttp.ClientSession() as session:
        payload = {
            "chat_id": alice.id,
            "text": "123",
            "reply_markup": '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}',
        }
        async with session.post(f"{emu.url}/bot{emu.token}/sendMessage", json=payload) as resp:
            body = await resp.json()
    assert body["ok"] is True
    assert body["result"]["text"] == "123"  # text stays a string
    assert emu.bot_messages(alice.id)[-1].buttons == [("A", "a")]


# --------------------------------------------------------------------------------------------
# Text, formatting and limits
# --------------------------------------------------------------------------------------------


async def test_html_with_escaped_user_text_round_trips(bot: Bot, alice: User) -> None:
    user_text = 'Tip: <script>alert("x")</script> & 🚨 near "gate" #3'
    sent = await bot.send_message(
        alice.id, f"<b>New tip</b>\n{html.escape(user_text)}", parse_mode="HTML"
    )
    assert sent.text == f"New tip\n{user_text}"
    bold = [e for e in sent.entities if e.type == "bold"]
    assert [(e.offset, e.length) for e in bold] == [(0, 7)]


async def test_html_entities_use_utf16_offsets(bot: Bot, alice: User) -> None:
    sent = await bot.send_message(
        alice.id, '🚨🚨 <i>x</i> <a href="https://example.org/a">link</a>', parse_mode="HTML"
    )
    italic = next(e for e in sent.entities if e.type == "italic")
    link = next(e for e in sent.entities if e.type == "text_link")
    assert italic.offset == 5 and italic.length == 1  # each 🚨 is 2 UTF-16 units
    assert link.url == "https://example.org/a" and sent.parse_entity(link) == "link"


async def test_html_pre_code_spoiler_blockquote(bot: Bot, alice: User) -> None:
    sent = await bot.send_message(
        alice.id,
        '<pre><code class="language-python">x = 1</code></pre> <tg-spoiler>s</tg-spoiler> '
        '<span class="tg-spoiler">t</span> <blockquote expandable>q</blockquote> '
        "&lt;&#65;&#x42;&amp;&foo;",
        parse_mode="HTML",
    )
    kinds = {e.type: e for e in sent.entities}
    assert kinds["pre"].language == "python"
    assert kinds["expandable_blockquote"].length == 1
    assert [e.type for e in sent.entities].count("spoiler") == 2
    assert present(sent.text).endswith("<AB&&foo;")  # unknown entity stays literal


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a < b", 'unsupported start tag "" at byte offset 2'),
        ("<xyz>hi</xyz>", 'unsupported start tag "xyz" at byte offset 0'),
        ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("é<foo>", 'unsupported start tag "foo" at byte offset 2'),  # byte, not char, offset
    ],
)
async def test_bad_html_is_rejected(bot: Bot, alice: User, text: str, fragment: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(alice.id, text, parse_mode="HTML")
    message = str(caught.value)
    assert message.startswith("Can't parse entities: ")
    assert fragment in message.lower()


async def test_markdown_v2_reserved_characters(bot: Bot, alice: User) -> None:
    with pytest.raises(BadRequest, match="reserved and must be escaped"):
        await bot.send_message(alice.id, "Done.", parse_mode="MarkdownV2")
    sent = await bot.send_message(
        alice.id,
        r"*bold* _it_ __u__ ~s~ ||sp|| `c` [l](https://x.org) ok\.",
        parse_mode="MarkdownV2",
    )
    assert sent.text == "bold it u s sp c l ok."
    assert [e.type for e in sent.entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]


async def test_text_limits_counted_after_parsing_in_utf16(bot: Bot, alice: User) -> None:
    await bot.send_message(alice.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(alice.id, "x" * 4097)
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(alice.id, "🚨" * 2049)  # 2049 chars, 4098 UTF-16 units
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(alice.id, "<b></b>  ", parse_mode="HTML")


async def test_surrounding_whitespace_is_trimmed(bot: Bot, alice: User) -> None:
    sent = await bot.send_message(alice.id, "\n  <b>hi</b>  \n", parse_mode="HTML")
    assert sent.text == "hi"
    assert (sent.entities[0].offset, sent.entities[0].length) == (0, 2)


async def test_caption_limit(bot: Bot, alice: User) -> None:
    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await bot.send_photo(alice.id, b"\xff\xd8img", caption="c" * 1025)


async def test_callback_data_limit(bot: Bot, alice: User) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="d" * 64)]])
    await bot.send_message(alice.id, "fine", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="é" * 33)]])
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(alice.id, "66 bytes", reply_markup=too_long)
    assert str(caught.value).upper() == "BUTTON_DATA_INVALID"


async def test_reply_to_missing_message(bot: Bot, alice: User, emu: BotApiEmulator) -> None:
    with pytest.raises(BadRequest, match=r"^Message to be replied not found$"):
        await bot.send_message(alice.id, "x", reply_parameters=ReplyParameters(9999))
    sent = await bot.send_message(
        alice.id,
        "x",
        reply_parameters=ReplyParameters(9999, allow_sending_without_reply=True),
    )
    assert sent.reply_to_message is None
    mine = emu.user_sends(alice, text="original")
    reply = await bot.send_message(alice.id, "re", reply_to_message_id=mine.message_id)
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "original"


# --------------------------------------------------------------------------------------------
# Access errors
# --------------------------------------------------------------------------------------------


async def test_access_errors(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    stranger = emu.add_user("Stan")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(stranger.id, "hi")
    emu.block_bot(alice)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(alice.id, "hi")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(-100999, "hi")
    group = emu.add_group("Officers", bot_status="left")
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.send_message(group, "hi")
    emu.set_bot_member(group, "kicked")
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(group, "hi")
    old = emu.add_group("Old", type="group")
    new = emu.migrate_group(old)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(old, "hi")
    assert caught.value.new_chat_id == new


# --------------------------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------------------------


async def test_fail_next_flood_and_gateway(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    emu.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 3",
        retry_after=3,
    )
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "a")
    assert caught.value._retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(alice.id, "b")  # only the next call failed
    emu.fail_next("sendMessage", chat_id=alice.id, error_code=502, description="Bad Gateway")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(alice.id, "c")
    assert [m.text for m in emu.bot_messages(alice.id)] == ["b"]
    failed = emu.calls_to("sendMessage", ok=False)
    assert [c.error_code for c in failed] == [429, 502]


async def test_hold_then_cancel_records_nothing(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    hold = emu.hold("sendMessage", chat_id=alice.id)
    task = asyncio.create_task(bot.send_message(alice.id, "never"))
    await hold.wait_for_request()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await emu.wait_for(lambda: hold.waiting == 0, timeout=2)
    hold.release()
    assert hold.abandoned == 1
    assert emu.calls_to("sendMessage") == []
    assert emu.bot_messages(alice.id) == []


async def test_hold_then_release_delivers(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    with emu.hold("sendMessage") as hold:
        task = asyncio.create_task(bot.send_message(alice.id, "later"))
        await hold.wait_for_request()
        assert emu.bot_messages(alice.id) == []
    sent = await task
    assert sent.text == "later"
    assert len(emu.calls_to("sendMessage", ok=True)) == 1


async def test_latency_timeout_still_delivers(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    """Like Telegram: a client-side timeout does not undo the send."""
    emu.latency = 0.5
    from telegram.error import TimedOut

    with pytest.raises(TimedOut):
        await bot.send_message(alice.id, "slow", read_timeout=0.1)
    assert [m.text for m in emu.bot_messages(alice.id)] == ["slow"]


async def test_rate_limit_per_group(bot: Bot, emu: BotApiEmulator) -> None:
    group = emu.add_group("Officers")
    emu.enforce_rate_limits = True
    for index in range(20):
        await bot.send_message(group, f"card {index}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(group, "one too many")
    assert 1 <= caught.value._retry_after.total_seconds() <= 60


async def test_paid_broadcasts_have_their_own_limit(bot: Bot, emu: BotApiEmulator) -> None:
    """30 a second free, 1,000 a second with allow_paid_broadcast; 3 in 3 s per private chat."""
    emu.enforce_rate_limits = True
    emu.clock = lambda: 100.0  # every send in the same instant
    people = [emu.add_user(f"R{i}") for i in range(40)]
    for user in people:
        emu.user_starts(user)
    for user in people[:30]:
        await bot.send_message(user.id, "free")
    with pytest.raises(RetryAfter):
        await bot.send_message(people[30].id, "one free too many")
    for user in people[30:]:
        await bot.send_message(user.id, "paid", allow_paid_broadcast=True)
    emu.rate_paid = (10, 1.0)  # the same rule as at 1,000/s, scaled down
    with pytest.raises(RetryAfter):
        await bot.send_message(people[0].id, "one paid too many", allow_paid_broadcast=True)
    emu.rate_paid = (1000, 1.0)
    alice = people[1]
    await bot.send_message(alice.id, "second", allow_paid_broadcast=True)
    await bot.send_message(alice.id, "third", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):  # a paid broadcast is still one chat's messages
        await bot.send_message(alice.id, "fourth", allow_paid_broadcast=True)
    paid = [c for c in emu.calls_to("sendMessage", ok=True) if c.params.get("allow_paid_broadcast")]
    assert len(paid) == 12


# --------------------------------------------------------------------------------------------
# Updates
# --------------------------------------------------------------------------------------------


async def test_get_updates_offsets_confirm(bot: Bot, emu: BotApiEmulator) -> None:
    bob = emu.add_user("Bob")
    for word in ("one", "two", "three"):
        emu.user_sends(bob, text=word)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    again = await bot.get_updates()  # not confirmed yet: delivered again
    assert len(again) == 3
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert not emu.all_updates_confirmed()
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
    assert emu.all_updates_confirmed() and emu.pending_update_count() == 0


async def test_long_poll_wakes_and_times_out(bot: Bot, emu: BotApiEmulator) -> None:
    bob = emu.add_user("Bob")
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(milliseconds=300)) == ()
    assert time.monotonic() - started >= 0.25
    asyncio.get_running_loop().call_later(0.2, lambda: emu.user_sends(bob, text="wake"))
    started = time.monotonic()
    updates = await bot.get_updates(timeout=10)
    assert time.monotonic() - started < 1.5
    assert updates[0].message is not None and updates[0].message.text == "wake"


async def test_second_poller_conflicts(emu: BotApiEmulator) -> None:
    async with make_bot(emu) as first, make_bot(emu) as second:
        polling = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        second_poll = asyncio.create_task(second.get_updates(timeout=dtm.timedelta(seconds=0.2)))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await polling
        assert await second_poll == ()


async def test_allowed_updates_gate_chat_member(bot: Bot, emu: BotApiEmulator) -> None:
    officer = emu.add_user("Olga")
    group = emu.add_group("Officers", members={officer: "member"})
    emu.set_member(group, officer, "left")  # default allowed_updates: no chat_member
    assert await drain(bot) == ()
    await bot.get_updates(timeout=0, allowed_updates=["message", "chat_member"])
    emu.set_member(group, officer, "member")
    (update,) = await drain(bot)
    assert update.chat_member is not None
    assert update.chat_member.new_chat_member.status == "member"
    assert update.chat_member.old_chat_member.status == "left"


async def test_user_messages_de_json(bot: Bot, emu: BotApiEmulator) -> None:
    """Every kind of incoming message parses in PTB with the fields handlers rely on."""
    carol = emu.add_user("Carol", username="carol")
    first = emu.user_sends(carol, text="hello")
    emu.user_sends(carol, photo=True, caption="door")
    emu.user_sends(carol, video=True)
    emu.user_sends(carol, voice=True)
    emu.user_sends(carol, document=True, file_name="plan.pdf")
    emu.user_sends(carol, sticker=True)
    emu.user_sends(carol, contact=True)
    emu.user_sends(carol, poll=True)
    emu.user_sends(carol, location=(52.52, 13.40))
    emu.user_sends(carol, venue=(52.5, 13.4, "Gate", "Main St 1"))
    emu.user_sends(carol, text="re", reply_to=first.message_id)
    emu.user_sends(carol, text="fwd", forward_from=emu.add_user("Dan"))
    emu.album(carol, n=2, caption="album")
    updates = await drain(bot)
    msgs = [u.message for u in updates if u.message]
    assert len(msgs) == 14
    photo = msgs[1]
    assert photo.caption == "door" and len(photo.photo) == 3
    assert photo.photo[-1].width > photo.photo[0].width
    assert present(msgs[2].video).mime_type == "video/mp4" and present(msgs[3].voice).file_id
    assert present(msgs[4].document).file_name == "plan.pdf"
    assert msgs[5].sticker is not None and present(msgs[6].contact).user_id == carol.id
    assert msgs[7].poll is not None
    assert present(msgs[8].location).latitude == pytest.approx(52.52)
    assert present(msgs[9].venue).title == "Gate"
    assert present(msgs[10].reply_to_message).text == "hello"
    assert msgs[11].forward_origin is not None
    assert msgs[12].media_group_id == msgs[13].media_group_id and msgs[12].caption == "album"
    assert msgs[13].caption is None


async def test_command_entities_work_with_command_handler(bot: Bot, emu: BotApiEmulator) -> None:
    dora = emu.add_user("Dora")
    emu.user_sends(dora, text="/start tip_42")
    emu.user_sends(dora, text="/start@porchlight_test_bot")
    emu.user_sends(dora, text="/start@other_bot")

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        return None

    handler: CommandHandler[ContextTypes.DEFAULT_TYPE, None] = CommandHandler("start", on_start)
    updates = await drain(bot)
    checks = [handler.check_update(u) for u in updates]
    assert isinstance(checks[0], tuple) and checks[0][0] == ["tip_42"]
    assert isinstance(checks[1], tuple) and checks[1][0] == []
    assert not checks[2]
    entity = present(updates[0].message).entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)


async def test_privacy_mode_in_groups(bot: Bot, emu: BotApiEmulator) -> None:
    """A non-admin bot in privacy mode sees commands, mentions and replies to itself only."""
    olga = emu.add_user("Olga")
    group = emu.add_group("Officers", members={olga: "member"}, bot_status="member")
    card = await bot.send_message(group, "card")
    emu.user_sends(olga, group, text="chatter")
    emu.user_sends(olga, group, text="/status")
    emu.user_sends(olga, group, text="/status@other_bot")
    emu.user_sends(olga, group, text="hey @porchlight_test_bot")
    emu.user_sends(olga, group, text="taking it", reply_to=card.message_id)
    seen = [u.message.text for u in await drain(bot) if u.message]
    assert seen == ["/status", "hey @porchlight_test_bot", "taking it"]
    emu.set_bot_member(group, "administrator")
    emu.user_sends(olga, group, text="chatter")
    assert [u.message.text for u in await drain(bot) if u.message] == ["chatter"]


async def test_callback_query_and_answers(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="confirm:1")]])
    sent = await bot.send_message(alice.id, "Sure?", reply_markup=markup)
    await drain(bot)
    qid = emu.user_taps(alice, sent.message_id, alice.id, "confirm:1")
    forged = emu.user_taps(alice, 424242, alice.id, "admin:wipe")
    first, second = await drain(bot)
    tapped = present(first.callback_query)
    assert tapped.data == "confirm:1"
    assert isinstance(tapped.message, Message) and tapped.message.reply_markup == markup
    forged_query = present(second.callback_query)
    assert not present(forged_query.message).is_accessible  # unknown message: inaccessible
    assert await bot.answer_callback_query(qid, "Done", show_alert=True)
    assert emu.callback_answers[qid].text == "Done" and emu.callback_answers[qid].show_alert
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(qid)
    with pytest.raises(BadRequest, match="query id is invalid"):
        await bot.answer_callback_query("nonsense")
    assert emu.unanswered_callback_queries() == [forged]


async def test_chat_member_updates_and_blocking(bot: Bot, emu: BotApiEmulator) -> None:
    eve = emu.add_user("Eve")
    emu.user_starts(eve)
    group = emu.add_group("Officers", bot_status="member")
    emu.block_bot(eve)
    emu.set_bot_member(group, "administrator")
    updates = await drain(bot)
    mine = [u.my_chat_member for u in updates if u.my_chat_member]
    assert [m.new_chat_member.status for m in mine] == ["kicked", "administrator"]
    assert isinstance(mine[1].new_chat_member, ChatMemberAdministrator)


# --------------------------------------------------------------------------------------------
# Sending media, copies, edits
# --------------------------------------------------------------------------------------------


async def test_copy_message_has_no_forward_origin(
    bot: Bot, emu: BotApiEmulator, alice: User
) -> None:
    officers = emu.add_group("Officers")
    tip = emu.user_sends(alice, photo=True, caption="broken window")
    copied = await bot.copy_message(
        officers, alice.id, tip.message_id, caption="<b>Tip 7</b>", parse_mode="HTML"
    )
    stored = emu.message(officers, copied.message_id)
    assert stored.forward_origin is None and stored.photo == tip.photo
    assert stored.caption == "Tip 7" and stored.entity_texts("bold") == ["Tip 7"]
    assert stored.copied_from == (alice.id, tip.message_id)
    forwarded = await bot.forward_message(officers, alice.id, tip.message_id)
    assert forwarded.forward_origin is not None
    with pytest.raises(BadRequest, match=r"^Message to copy not found$"):
        await bot.copy_message(officers, alice.id, 9999)
    album = emu.album(alice, n=3)
    ids = await bot.copy_messages(officers, alice.id, [m.message_id for m in album])
    copies = [emu.message(officers, i.message_id) for i in ids]
    assert len({c.media_group_id for c in copies}) == 1 and copies[0].media_group_id
    assert all(c.forward_origin is None for c in copies)


async def test_media_group_and_file_download(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    payloads = [b"\xff\xd8photo-%d" % i for i in range(3)]
    sent = await bot.send_media_group(
        alice.id,
        [InputMediaPhoto(payloads[0], caption="<i>3 photos</i>", parse_mode="HTML")]
        + [InputMediaPhoto(p) for p in payloads[1:]],
    )
    assert len(sent) == 3 and len({m.media_group_id for m in sent}) == 1
    assert sent[0].caption == "3 photos" and sent[1].caption is None
    for message, payload in zip(sent, payloads, strict=True):
        file = await bot.get_file(message.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == payload
    with pytest.raises(BadRequest, match="Too many messages to send as an album"):
        await bot.send_media_group(alice.id, [InputMediaPhoto(b"x")] * 11)
    with pytest.raises(BadRequest, match="Document can't be mixed"):
        await bot.send_media_group(alice.id, [InputMediaPhoto(b"x"), InputMediaDocument(b"y")])
    # Re-sending by file_id reuses the stored file.
    again = await bot.send_photo(alice.id, sent[0].photo[-1].file_id)
    assert again.photo[-1].file_unique_id == sent[0].photo[-1].file_unique_id
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type photo as document"):
        await bot.send_document(alice.id, sent[0].photo[-1].file_id)


async def test_an_uploaded_photo_must_be_an_image(bot: Bot, alice: User) -> None:
    """A chart uploaded as multipart: Telegram keeps the image (and its size), and refuses
    bytes that are no image with IMAGE_PROCESS_FAILED."""
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (800).to_bytes(4, "big")
    png += (450).to_bytes(4, "big") + b"\x08\x06\x00\x00\x00rest-of-the-image"
    sent = await bot.send_photo(
        alice.id,
        InputFile(png, filename="chart.png"),
        caption="<b>Weekly digest</b>",
        parse_mode="HTML",
    )
    largest = sent.photo[-1]
    assert (largest.width, largest.height) == (800, 450) and sent.caption == "Weekly digest"
    assert bytes(await (await bot.get_file(largest.file_id)).download_as_bytearray()) == png
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(alice.id, InputFile(b"not an image", filename="chart.png"))


async def test_user_media_is_downloadable(bot: Bot, emu: BotApiEmulator) -> None:
    frank = emu.add_user("Frank")
    msg = emu.user_sends(frank, voice=True)
    (update,) = await drain(bot)
    assert update.message is not None and update.message.voice is not None
    file = await update.message.voice.get_file()
    data = bytes(await file.download_as_bytearray())
    assert data == emu.file_bytes(msg.raw["voice"]["file_id"]) and data.startswith(b"OggS")


async def test_edits(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Take", callback_data="take")]])
    sent = await bot.send_message(alice.id, "<b>Card</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>Card</b>", alice.id, sent.message_id, parse_mode="HTML", reply_markup=markup
        )
    edited = await bot.edit_message_text("Card (taken)", alice.id, sent.message_id)
    assert (
        isinstance(edited, Message) and edited.reply_markup is None
    )  # omitted reply_markup removes the keyboard
    assert emu.message(alice.id, sent.message_id).edited
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("x", alice.id, 99999)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(alice.id, sent.message_id)
    photo = await bot.send_photo(alice.id, b"\xff\xd8x", caption="old")
    await bot.edit_message_caption(alice.id, photo.message_id, caption="new")
    assert emu.message(alice.id, photo.message_id).caption == "new"
    assert await bot.delete_message(alice.id, photo.message_id)
    with pytest.raises(BadRequest, match=r"^Message to delete not found$"):
        await bot.delete_message(alice.id, photo.message_id)


async def test_reactions_pins_topics(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    tip = emu.user_sends(alice, text="help")
    await bot.set_message_reaction(alice.id, tip.message_id, ReactionTypeEmoji("👍"))
    assert emu.reactions[(alice.id, tip.message_id)] == [{"type": "emoji", "emoji": "👍"}]
    with pytest.raises(BadRequest, match="Reaction_invalid"):
        await bot.set_message_reaction(alice.id, tip.message_id, ReactionTypeEmoji("🍕"))
    with pytest.raises(BadRequest, match=r"^Message to react not found$"):
        await bot.set_message_reaction(alice.id, 999, ReactionTypeEmoji("👍"))
    forum = emu.add_group("Officers", is_forum=True)
    topic = await bot.create_forum_topic(forum, "Tip 7")
    card = await bot.send_message(forum, "card", message_thread_id=topic.message_thread_id)
    assert card.message_thread_id == topic.message_thread_id and card.is_topic_message
    assert await bot.pin_chat_message(forum, card.message_id)
    assert [m.message_id for m in emu.pinned(forum)] == [card.message_id]
    chat = await bot.get_chat(forum)
    assert chat.pinned_message is not None and chat.pinned_message.text == "card"
    emu.delete_topic(forum, topic.message_thread_id)
    with pytest.raises(BadRequest, match=r"^Message thread not found$"):
        await bot.send_message(forum, "x", message_thread_id=topic.message_thread_id)
    plain = emu.add_group("Plain")
    with pytest.raises(BadRequest, match=r"^The chat is not a forum$"):
        await bot.create_forum_topic(plain, "t")


async def test_forum_topics_as_telegram_keeps_them(bot: Bot, emu: BotApiEmulator) -> None:
    dana = emu.add_user("Dana")
    forum = emu.add_group("Officers", members={dana: "member"}, is_forum=True)
    assert (await bot.get_chat(forum)).is_forum
    topic = await bot.create_forum_topic(forum, "#1 · Van <b>", icon_color=16478047)
    thread = topic.message_thread_id
    root = emu.message(forum, thread)
    assert root.raw["forum_topic_created"] == {"name": "#1 · Van <b>", "icon_color": 16478047}
    assert root.is_service and emu.chat(forum).topics == {thread: "#1 · Van <b>"}

    # A member writing plainly in the topic: a topic message that "replies" to the topic's
    # creation message; an explicit reply joins the topic of what it answers.
    plain = emu.user_sends(dana, forum, "on my way", message_thread_id=thread)
    card = await bot.send_message(forum, "card", message_thread_id=thread)
    reply = emu.user_sends(dana, forum, "noted", reply_to=card.message_id)
    general = emu.user_sends(dana, forum, "coffee?")
    updates = {u.message.message_id: u.message for u in await drain(bot) if u.message}
    seen = updates[plain.message_id]
    assert seen.is_topic_message and seen.message_thread_id == thread
    assert present(seen.reply_to_message).forum_topic_created is not None
    assert present(seen.chat.is_forum)
    assert updates[reply.message_id].message_thread_id == thread
    assert present(updates[reply.message_id].reply_to_message).message_id == card.message_id
    assert updates[general.message_id].message_thread_id is None
    assert not updates[general.message_id].is_topic_message

    # Renaming, closing and reopening: a service message each; no change is refused.
    assert await bot.edit_forum_topic(forum, thread, name="✅ #1 · Van <b>")
    with pytest.raises(BadRequest, match="Topic_not_modified"):
        await bot.edit_forum_topic(forum, thread, name="✅ #1 · Van <b>")
    assert await bot.close_forum_topic(forum, thread)
    with pytest.raises(BadRequest, match="Topic_not_modified"):
        await bot.close_forum_topic(forum, thread)
    notes = [m.raw for m in emu.messages(forum) if m.is_service and m.message_thread_id == thread]
    assert [k for n in notes for k in n if k.startswith("forum_topic")] == [
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_closed",
    ]
    # A closed topic still takes the messages of an administrator who manages topics…
    assert (await bot.send_message(forum, "late", message_thread_id=thread)).is_topic_message
    emu.set_bot_member(forum, "administrator", rights={"can_manage_topics": False})
    await drain(bot)
    # …not of one who may not (it may still reopen a topic it created itself).
    with pytest.raises(BadRequest, match="Topic_closed"):
        await bot.send_message(forum, "late", message_thread_id=thread)
    with pytest.raises(BadRequest, match="Not enough rights to create a topic"):
        await bot.create_forum_topic(forum, "#2")
    assert await bot.reopen_forum_topic(forum, thread)
    with pytest.raises(BadRequest, match="Topic_not_modified"):
        await bot.reopen_forum_topic(forum, thread)

    # A deleted topic: sends and changes answer "message thread not found".
    emu.delete_topic(forum, thread)
    with pytest.raises(BadRequest, match=r"^Message thread not found$"):
        await bot.send_message(forum, "x", message_thread_id=thread)
    with pytest.raises(BadRequest, match=r"^Message thread not found$"):
        await bot.edit_forum_topic(forum, thread, name="again")
    # Topics turned off: the chat says so, and creating a topic is refused.
    emu.set_forum(forum, False)
    assert not (await bot.get_chat(forum)).is_forum
    with pytest.raises(BadRequest, match=r"^The chat is not a forum$"):
        await bot.create_forum_topic(forum, "t")


async def test_topic_changes_count_against_the_group_flood_limit(
    bot: Bot, emu: BotApiEmulator
) -> None:
    forum = emu.add_group("Officers", is_forum=True)
    emu.enforce_rate_limits = True
    emu.rate_group = (2, 60.0)
    topic = await bot.create_forum_topic(forum, "#1")
    await bot.send_message(forum, "card", message_thread_id=topic.message_thread_id)
    with pytest.raises(RetryAfter):
        await bot.close_forum_topic(forum, topic.message_thread_id)


# --------------------------------------------------------------------------------------------
# Chat info and settings
# --------------------------------------------------------------------------------------------


async def test_get_chat_member_statuses(bot: Bot, emu: BotApiEmulator) -> None:
    people = {
        status: emu.add_user(status.title())
        for status in ("creator", "administrator", "member", "restricted", "left", "kicked")
    }
    group = emu.add_group("Officers", members={u: s for s, u in people.items()})
    expected = {
        "creator": ChatMemberOwner,
        "administrator": ChatMemberAdministrator,
        "member": ChatMemberMember,
        "restricted": ChatMemberRestricted,
        "left": ChatMemberLeft,
        "kicked": ChatMemberBanned,
    }
    for status, user in people.items():
        member = await bot.get_chat_member(group, user.id)
        assert isinstance(member, expected[status]), status
    me = await bot.get_chat_member(group, emu.bot.id)
    assert isinstance(me, ChatMemberAdministrator) and me.can_delete_messages
    outsider = emu.add_user("Outsider")
    assert (await bot.get_chat_member(group, outsider.id)).status == "left"
    admins = await bot.get_chat_administrators(group)
    assert {a.user.id for a in admins} == {
        people["creator"].id,
        people["administrator"].id,
        emu.bot.id,
    }
    assert await bot.get_chat_member_count(group) == 5  # creator, admin, member, restricted, bot


async def test_get_chat_full_info(bot: Bot, emu: BotApiEmulator, alice: User) -> None:
    private = await bot.get_chat(alice.id)
    assert private.type == "private" and private.first_name == "Alice"
    group = emu.add_group("Officers", username="porch_officers")
    info = await bot.get_chat("@porch_officers")
    assert info.id == group and info.title == "Officers" and info.max_reaction_count > 0


async def test_commands_per_scope(bot: Bot, emu: BotApiEmulator) -> None:
    from telegram import BotCommand, BotCommandScopeAllPrivateChats

    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("report", "Report")])
    await bot.set_my_commands(
        [BotCommand("start", "Start")], scope=BotCommandScopeAllPrivateChats(), language_code="de"
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "report"]
    assert emu.get_commands({"type": "all_private_chats"}, "de") == [
        {"command": "start", "description": "Start"}
    ]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.set_my_description("Porch safety") and await bot.set_my_short_description("x")


# --------------------------------------------------------------------------------------------
# Drivers and the full Application
# --------------------------------------------------------------------------------------------


async def test_drivers_read_like_stories(bot: Bot, emu: BotApiEmulator) -> None:
    alice = Person(emu, emu.add_user("Alice"), settle_noop)
    await alice.starts("tip_1")
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Urgent 🚨", callback_data="u"),
                InlineKeyboardButton("Help", url="https://example.org"),
            ]
        ]
    )
    await bot.send_message(alice.id, "How urgent?", reply_markup=markup)
    qid = await alice.taps("Urgent")  # substring match
    await bot.answer_callback_query(qid, "Noted")
    assert alice.last_answer() == "Noted"
    with pytest.raises(AssertionError, match="no button 'Later'"):
        await alice.taps("Later")
    assert alice.last_message().text == "How urgent?"

    olga_user = emu.add_user("Olga")
    officers = emu.add_group("Officers", members={olga_user: "member"})
    olga = Person(emu, olga_user, settle_noop).in_chat(officers)
    chat = GroupChat(emu, officers)
    card = await bot.send_message(officers, "Tip #1")
    note = await bot.send_message(officers, "note", reply_to_message_id=card.message_id)
    await bot.send_message(officers, "other")
    assert (await chat.next_message()).text == "Tip #1"
    assert (await chat.next_message()).text == "note"
    reply = await olga.replies_to(emu.message(officers, note.message_id), "on my way", photo=True)
    deep = await bot.send_message(officers, "ack", reply_to_message_id=reply.message_id)
    thread = chat.thread_of(card.message_id)
    assert [m.message_id for m in thread] == [note.message_id, deep.message_id]
    assert deep.reply_to_message is not None and reply.photo
    with pytest.raises(AssertionError, match="timed out"):
        chat.skip_existing()
        await chat.next_message(timeout=0.1)


async def test_application_polling_end_to_end(emu: BotApiEmulator) -> None:
    """An unmodified PTB Application polls, handles and confirms through the emulator."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .request(HTTPXRequest(connection_pool_size=8, httpx_kwargs={"verify": _TLS}))
        .get_updates_request(HTTPXRequest(httpx_kwargs={"verify": _TLS}))
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    gina = emu.add_user("Gina")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        emu.user_sends(gina, text="hello <world>")
        await emu.wait_for(lambda: bool(emu.bot_messages(gina.id)), timeout=3)
        await app.updater.stop()
        await app.stop()
    reply = emu.bot_messages(gina.id)[0]
    assert reply.text == "echo: hello <world>"
    assert emu.all_updates_confirmed()
    assert utf16_len(reply.text) == len(reply.text)


async def test_webhook_info_as_telegram_reports_it(bot: Bot, emu: BotApiEmulator) -> None:
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections) == ("", 0, None)
    await bot.set_webhook(
        "https://bot.example.org/hook",
        secret_token="s3cret",
        max_connections=5,
        allowed_updates=["message", "callback_query"],
    )
    emu.user_sends(emu.add_user("Ana"), text="hello")  # waits: nobody took it yet
    emu.webhook_delivery_failed("Wrong response from the webhook: 502 Bad Gateway", ago=90)
    info = await bot.get_webhook_info()
    assert info.url == "https://bot.example.org/hook"
    assert (info.pending_update_count, info.max_connections) == (1, 5)
    assert set(present(info.allowed_updates)) == {"message", "callback_query"}
    assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
    error_at = present(info.last_error_date)
    assert 85 <= (dtm.datetime.now(dtm.UTC) - error_at).total_seconds() <= 95
    raw = emu.calls_to("getWebhookInfo")[-1].result
    assert "secret_token" not in raw and "s3cret" not in str(raw)  # never shown back
    await bot.delete_webhook()
    info = await bot.get_webhook_info()
    assert (info.url, info.last_error_date, info.last_error_message) == ("", None, None)
