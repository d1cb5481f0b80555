"""`porchlight check`: is this deployment ready? Each finding is a line a deployer can act on."""

from __future__ import annotations

from telegram import Bot, ChatMember
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.check_deployment import OK, PROBLEM, WARN, Report, check_postgres, check_webhook
from bot.config import Settings
from bot.http import make_request
from bot.startup import token_rejected, unreachable
from storage.db import connect, pending_migrations, unknown_migrations
from storage.sql import POSTGRESQL


async def check(settings: Settings) -> int:
    report = Report()
    report.say(OK, "configuration is valid")
    await _check_telegram(settings, report)
    await _check_database(settings, report)
    print("All checks passed." if not report.problems else f"{report.problems} problem(s) found.")
    return 0 if not report.problems else 1


async def _check_telegram(settings: Settings, report: Report) -> None:
    api = settings.telegram_api_url
    bot = Bot(
        settings.token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=make_request(settings.http_backend, pool_size=4),
    )
    try:
        await bot.initialize()
    except (InvalidToken, NetworkError) as error:
        await bot.shutdown()  # the HTTP sessions were opened before Telegram answered
        if isinstance(error, InvalidToken):
            report.say(PROBLEM, token_rejected(settings, error))
        else:
            report.say(PROBLEM, unreachable(settings, error))
        return
    me = bot.bot
    report.say(OK, f"connected to Telegram as @{me.username} (id {me.id})")
    await check_webhook(bot, settings, report)
    chat_id = settings.officer_chat_id
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, me.id)
    except (BadRequest, Forbidden) as error:
        report.say(
            PROBLEM,
            f"the bot cannot see the officer chat {chat_id} ({error}): add "
            f"@{me.username} to the officers' group as an administrator, and check "
            "OFFICER_CHAT_ID",
        )
        await bot.shutdown()
        return
    except TelegramError as error:
        report.say(PROBLEM, f"could not check the officer chat: {error}")
        await bot.shutdown()
        return
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        report.say(
            PROBLEM,
            f"OFFICER_CHAT_ID {chat_id} is a {chat.type} chat, not a group: "
            "create a private group for officers and use its id",
        )
    else:
        report.say(OK, f'officer chat is "{chat.title}" ({chat.type})')
    status = member.status
    if status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        report.say(
            PROBLEM,
            f"the bot is not a member of the officer chat (status {status}): "
            f"add @{me.username} to the group and make it an administrator",
        )
    elif status == ChatMemberStatus.ADMINISTRATOR:
        report.say(
            OK,
            "the bot is an administrator of the officer chat: it sees officers' "
            "replies and may post there",
        )
    else:
        can_send = getattr(member, "can_send_messages", True)
        if not can_send:
            report.say(
                PROBLEM,
                "the bot may not post in the officer chat: allow it to send "
                "messages, or make it an administrator",
            )
        if me.can_read_all_group_messages:
            report.say(
                WARN,
                "the bot is not an administrator of the officer chat; it works "
                "because privacy mode is off, but make it an administrator anyway",
            )
        else:
            report.say(
                PROBLEM,
                "the bot is a plain member of the officer chat: with privacy "
                "mode on it cannot see officers' plain replies. Group settings → "
                f"Administrators → Add administrator → @{me.username}",
            )
    if chat.is_forum:
        _check_topics(report, member, me.username)
    await bot.shutdown()


def _check_topics(report: Report, member: ChatMember, username: str | None) -> None:
    """A forum officer chat gives each tip a topic: creating, renaming and closing them needs
    the *manage topics* right (without it tips go to the General topic)."""
    if member.status == ChatMemberStatus.OWNER or getattr(member, "can_manage_topics", False):
        report.say(OK, "the officer chat is a forum and the bot may manage topics: a topic per tip")
    else:
        report.say(
            PROBLEM,
            "the officer chat is a forum but the bot may not manage topics, so tips would go "
            "to the General topic: Group settings → Administrators → "
            f"@{username} → Manage topics",
        )


async def _check_database(settings: Settings, report: Report) -> None:
    path = settings.database_label
    try:
        conn = await connect(settings.database)
    except Exception as error:
        report.say(PROBLEM, _unreachable(settings, error))
        return
    try:
        pending = await pending_migrations(conn)
        await conn.script(f"{conn.dialect.begin_write}; ROLLBACK;")
        unknown = await unknown_migrations(conn)
        if pending:
            report.say(
                WARN,
                f"database {path} has {len(pending)} migration(s) to apply; "
                "`porchlight migrate` (or starting the bot) applies them",
            )
        else:
            report.say(OK, f"database {path} is writable and up to date")
        if unknown:
            report.say(
                WARN,
                f"the database has migration(s) this Porchlight does not know"
                f" ({', '.join(map(str, unknown))}): a newer version migrated it; upgrade"
                " this installation",
            )
        if conn.dialect is POSTGRESQL:
            await check_postgres(conn, settings.database_pool_size, report)
    except Exception as error:
        report.say(PROBLEM, f"the database {path} is not usable ({error})")
    finally:
        await conn.close()


def _unreachable(settings: Settings, error: Exception) -> str:
    """One line: what failed, the driver's reason, and which setting to look at."""
    reason = " ".join(str(error).split()) or type(error).__name__
    if settings.database_url:
        return (
            f"cannot connect to the database {settings.database_label} ({reason}):"
            " check DATABASE_URL (host, port, user, password, database name) and that"
            " the server accepts this machine"
        )
    return (
        f"cannot open the database {settings.database_label} ({reason}): check DATABASE_PATH "
        "and that its folder is writable"
    )
