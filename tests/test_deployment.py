"""What the person deploying the bot sees: configuration mistakes, `porchlight check`, menus."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from bot.__main__ import main
from bot.check import check
from bot.config import ConfigError, load_settings
from storage.db import connect, migration_files
from tests.conftest import World
from tests.postgres import Server
from tests.telegram.emulator import BotApiEmulator
from tests.test_webhook import free_port


def test_without_a_token_run_says_what_to_put_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "OFFICER_CHAT_ID"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "BOT_TOKEN is not set" in err and "@BotFather" in err
    assert "OFFICER_CHAT_ID is not set" in err and ".env" in err
    assert "Traceback" not in err


def test_a_malformed_setting_is_explained_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BOT_TOKEN=12345:abcdefgh\nOFFICER_CHAT_ID=42\nTIMEZONE=Mars\n")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "OFFICER_CHAT_ID must be a group's id" in err
    assert "TIMEZONE 'Mars' is not an IANA time zone" in err


async def test_check_passes_for_a_well_set_up_deployment(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await check(world.settings()) == 0
    out = capsys.readouterr().out
    assert "connected to Telegram as @porchlight_test_bot" in out
    assert "administrator of the officer chat" in out
    assert "is writable and up to date" in out


async def test_check_explains_a_bot_that_is_not_an_administrator(
    emulator: BotApiEmulator, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(emulator, database)
    world.officer_chat_id = emulator.add_group("Officers", bot_status="member", members={})
    assert await check(world.settings()) == 1
    out = capsys.readouterr().out
    assert "[PROBLEM] the bot is a plain member of the officer chat" in out
    assert "Add administrator" in out


async def test_check_explains_a_wrong_officer_chat_id(
    emulator: BotApiEmulator, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(emulator, database)
    world.officer_chat_id = -100999
    assert await check(world.settings()) == 1
    assert "cannot see the officer chat -100999" in capsys.readouterr().out


async def test_command_menus_are_published_for_residents_and_officers(world: World) -> None:
    private = world.emu.get_commands({"type": "all_private_chats"})
    spanish = world.emu.get_commands({"type": "all_private_chats"}, language_code="es")
    officers = world.emu.get_commands({"type": "chat", "chat_id": world.officer_chat_id})
    assert ("report", "Report something to the officers") in [
        (c["command"], c["description"]) for c in private
    ]
    assert "Informar de algo a los agentes" in [c["description"] for c in spanish]
    assert {c["command"] for c in officers} == {
        "note",
        "broadcast",
        "newevent",
        "events",
        "cancelevent",
        "addtip",
        "library",
        "block",
        "unblock",
        "canned",
        "r",
        "tips",
        "tip",
        "stats",
        "help",
    }
    assert "trends" in {c["command"] for c in private}


def test_webhook_mode_needs_a_secret_and_listens_at_the_url_path() -> None:
    required = {"bot_token": "123456:ABCdefgh", "officer_chat_id": -100, "_env_file": None}
    with pytest.raises(ConfigError) as error:
        load_settings(**required, webhook_url="https://bot.example.org/tg")
    assert "WEBHOOK_SECRET is required when WEBHOOK_URL is set" in str(error.value)
    assert "secrets.token_urlsafe" in str(error.value)
    with pytest.raises(ConfigError) as error:
        load_settings(**required, webhook_url="http://bot.example.org/tg", webhook_secret="s")
    assert "WEBHOOK_URL must start with https://" in str(error.value)
    settings = load_settings(
        **required, webhook_url="https://bot.example.org/tg/", webhook_secret="s"
    )
    assert settings.listen_path == "/tg"
    settings = load_settings(
        **required,
        webhook_url="https://bot.example.org/tg",
        webhook_path="internal/hook",
        webhook_secret="s",
    )
    assert settings.listen_path == "/internal/hook"
    assert load_settings(**required, webhook_url="").webhook_url is None


async def test_check_names_a_postgresql_it_cannot_reach_in_one_line_without_the_password(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = world.settings().model_copy(
        update={"database_url": "postgresql://porchlight:s3cret@127.0.0.1:1/porchlight"}
    )
    assert await check(settings) == 1
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "database" in line]
    assert line.startswith("[PROBLEM] cannot connect to the database")
    assert "postgresql://porchlight:***@127.0.0.1:1/porchlight" in line and "s3cret" not in out
    assert "check DATABASE_URL" in line


def test_a_database_url_that_is_not_postgresql_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "mysql://db.example.org/porchlight")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "DATABASE_URL must be a PostgreSQL URL like postgresql://" in err
    assert "Traceback" not in err


def test_migrate_applies_every_migration_once_on_this_backend(
    postgres_server: Server | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123456:ABCdefGHIjkl")
    monkeypatch.setenv("OFFICER_CHAT_ID", "-1001")
    if postgres_server is None:
        monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "fresh.sqlite3"))
        label = str(tmp_path / "fresh.sqlite3")
    else:
        asyncio.run(_create_database(postgres_server, "fresh_for_migrate"))
        monkeypatch.setenv("DATABASE_URL", postgres_server.url("fresh_for_migrate"))
        label = postgres_server.url("fresh_for_migrate")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        assert main(["migrate"]) == 0
        first = capsys.readouterr().out
        assert main(["migrate"]) == 0
        second = capsys.readouterr().out
    finally:
        root.handlers[:], root.level = handlers, level  # the command configured logging
        if postgres_server is not None:
            asyncio.run(_drop_database(postgres_server, "fresh_for_migrate"))
    assert first.startswith(f"Applied {len(migration_files())} migration(s) to {label}: ")
    assert second == f"{label} is up to date.\n"


async def _create_database(server: Server, name: str) -> None:
    admin = await asyncpg.connect(server.url())
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()


async def _drop_database(server: Server, name: str) -> None:
    admin = await asyncpg.connect(server.url())
    await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    await admin.close()


def test_backup_refuses_a_postgresql_deployment_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://porchlight:s3cret@db.example.org/porchlight")
    assert main(["backup", "copy.sqlite3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("porchlight backup: ") and err.count("\n") == 1
    assert "DATABASE_URL is set" in err and "s3cret" not in err
    assert not (tmp_path / "copy.sqlite3").exists()


# `porchlight check` in webhook mode, and on PostgreSQL ---------------------------------------

PUBLIC_URL = "https://bot.example.org/porchlight/hook"
SECRET = "s3cret-Token_for-tests"


def lines_of(out: str, level: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(f"[{level}")]


async def test_check_in_polling_mode_warns_of_a_webhook_left_set(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.emu.webhook_url = "https://old.example.org/hook"  # an earlier deployment's
    assert await check(world.settings()) == 0  # PTB deletes it when polling starts
    [warning] = lines_of(capsys.readouterr().out, "WARNING")
    assert warning.startswith("[WARNING] a webhook is set at Telegram (https://old.example.org")
    assert "409 Conflict" in warning and "deletes it when it starts polling" in warning


async def test_check_in_webhook_mode_before_the_first_start_says_who_registers_it(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    await world.stop_bot()  # a deployment about to switch to webhooks
    settings = world.settings().model_copy(
        update={"webhook_url": PUBLIC_URL, "webhook_secret": SecretStr(SECRET)}
    )
    assert await check(settings) == 0
    out = capsys.readouterr().out
    assert (
        "[WARNING] no webhook is registered at Telegram yet: starting the bot registers "
        f"{PUBLIC_URL}"
    ) in out
    assert "[OK     ] WEBHOOK_SECRET is set" in out


async def test_check_in_webhook_mode_reports_telegrams_failed_deliveries(
    emulator: BotApiEmulator, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(emulator, database)
    world.overrides.update(
        webhook_url=PUBLIC_URL,
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=free_port(),
    )
    await world.start_bot()  # registers the webhook
    try:
        # The proxy's upstreams are down: Telegram keeps the update and says why.
        emulator.user_sends(emulator.add_user("Ana"), text="/start")
        emulator.webhook_delivery_failed(
            "Wrong response from the webhook: 502 Bad Gateway", ago=5 * 60 + 10
        )
        assert await check(world.settings()) == 1
    finally:
        await world.stop_bot()
    out = capsys.readouterr().out
    assert f"[OK     ] webhook registered at Telegram: {PUBLIC_URL}" in out
    assert "[OK     ] Telegram holds 1 update(s) not yet delivered to the webhook" in out
    [problem] = lines_of(out, "PROBLEM")
    assert problem.startswith("[PROBLEM] Telegram's last delivery error (")
    assert "UTC, 5 minutes ago): Wrong response from the webhook: 502 Bad Gateway" in problem
    assert "[OK     ] Telegram opens at most 40 connections at once to it" in out
    assert (
        "[OK     ] allowed updates are the bot's: callback_query, chat_member, message, "
        "my_chat_member"
    ) in out
    assert SECRET not in out


async def test_check_in_webhook_mode_names_a_webhook_registered_elsewhere(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.emu.webhook_url = "https://other.example.org/hook"
    settings = world.settings().model_copy(
        update={"webhook_url": PUBLIC_URL, "webhook_secret": SecretStr(SECRET)}
    )
    assert await check(settings) == 1
    [problem] = lines_of(capsys.readouterr().out, "PROBLEM")
    assert problem.startswith(
        f"[PROBLEM] Telegram posts updates to https://other.example.org/hook, not to "
        f"WEBHOOK_URL {PUBLIC_URL}"
    )


async def test_check_warns_of_a_database_a_newer_porchlight_migrated(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await connect(world.database)
    await conn.execute(
        "INSERT INTO schema_migrations VALUES (?, ?, ?)", (9999, "9999_future.sql", "x")
    )
    await conn.close()
    assert await check(world.settings()) == 0
    [warning] = lines_of(capsys.readouterr().out, "WARNING")
    assert warning == (
        "[WARNING] the database has migration(s) this Porchlight does not know (9999): a newer "
        "version migrated it; upgrade this installation"
    )


async def test_check_does_the_connection_sums_for_replicas_on_postgresql(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    if not world.database.startswith("postgresql://"):
        pytest.skip("PostgreSQL only: SQLite has one connection and no server")
    assert await check(world.settings()) == 0
    out = capsys.readouterr().out
    assert re.search(r"\[OK     \] PostgreSQL 1\d\.\d+\n", out), out
    # The throwaway server: max_connections=200, superuser_reserved_connections=3.
    assert (
        "max_connections 200 − 3 reserved = 197 for clients; each replica opens at most "
        "DATABASE_POOL_SIZE = 10 and 1 of its own (news and the leader's lock), and 3 stay spare"
        " for porchlight check/export/migrate and psql: "
        "17 replica(s) fit (17 × 11 + 3 = 190 ≤ 197)"
    ) in out
    assert re.search(r"; \d+ connected now, [1-9]\d* of them Porchlight's\n", out)

    settings = world.settings().model_copy(update={"database_pool_size": 100})
    assert await check(settings) == 0
    [warning] = lines_of(capsys.readouterr().out, "WARNING")
    assert "1 replica(s) fit (1 × 101 + 3 = 104 ≤ 197)" in warning
    assert warning.endswith("A second replica needs a smaller DATABASE_POOL_SIZE")

    settings = world.settings().model_copy(update={"database_pool_size": 500})
    assert await check(settings) == 1
    [problem] = lines_of(capsys.readouterr().out, "PROBLEM")
    assert "one replica needs DATABASE_POOL_SIZE = 500 + 1 of its own + 3 spare" in problem
    assert "lower DATABASE_POOL_SIZE or raise the server's max_connections" in problem


def test_the_pool_size_is_checked_at_start() -> None:
    required = {"bot_token": "123456:ABCdefgh", "officer_chat_id": -100, "_env_file": None}
    assert load_settings(**required).database_pool_size == 10
    assert load_settings(**required, database_pool_size="25").database_pool_size == 25
    for wrong in (1, 501):
        with pytest.raises(ConfigError) as error:
            load_settings(**required, database_pool_size=wrong)
        assert "DATABASE_POOL_SIZE must be from 2 to 500" in str(error.value)
