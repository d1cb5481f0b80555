"""What a deployer sees when `porchlight run` starts: one line when it cannot, a readable start
line when it can, and never the token in the log (the real command, as a subprocess)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from bot.logs import configure_logging
from tests.telegram.emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parent.parent


def porchlight_env(emu: BotApiEmulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    """Only what a deployer would set: nothing leaks in from the developer's environment."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": emu.token,
        "OFFICER_CHAT_ID": str(emu.add_group("Night shift", members={})),
        "DATABASE_PATH": str(tmp_path / "porchlight.sqlite3"),
        "TELEGRAM_API_URL": emu.url,
        **extra,
    }


async def porchlight_run(env: dict[str, str], tmp_path: Path) -> asyncio.subprocess.Process:
    # stderr goes to a file: a DEBUG log would fill a pipe nobody reads and stall the bot.
    with (tmp_path / "stderr.log").open("wb") as err, (tmp_path / "stdout.log").open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path, stdout=out, stderr=err
        )


async def finished(process: asyncio.subprocess.Process, tmp_path: Path) -> tuple[int, str, str]:
    code = await asyncio.wait_for(process.wait(), 20)
    return code, (tmp_path / "stdout.log").read_text(), (tmp_path / "stderr.log").read_text()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_a_wrong_token_is_one_line_and_a_failure(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    env = porchlight_env(emulator, tmp_path, BOT_TOKEN="999:WRONG-token-from-a-typo")
    code, out, err = await finished(await porchlight_run(env, tmp_path), tmp_path)
    assert code == 1
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("Porchlight cannot start: Telegram rejected BOT_TOKEN")
    assert "@BotFather" in line and "WRONG-token" not in line


async def test_telegram_out_of_reach_is_one_line_and_a_failure(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = porchlight_env(emulator, tmp_path, TELEGRAM_API_URL=url)
    code, out, err = await finished(await porchlight_run(env, tmp_path), tmp_path)
    assert code == 1
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith(f"Porchlight cannot start: cannot reach the Bot API at {url}")
    assert "TELEGRAM_API_URL" in line


async def test_a_debug_log_names_the_bot_and_never_shows_the_token(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    env = porchlight_env(emulator, tmp_path, LOG_LEVEL="DEBUG")
    process = await porchlight_run(env, tmp_path)
    try:
        ana = emulator.add_user("Ana")
        emulator.user_sends(ana, text="/start")
        await emulator.wait_for(
            lambda: bool(emulator.bot_messages(ana.id)), timeout=20, what="the welcome"
        )
    finally:
        process.send_signal(signal.SIGTERM)
    code, _, log = await finished(process, tmp_path)
    assert code == 0, log[-3000:]
    start = [line for line in log.splitlines() if "Starting Porchlight as" in line]
    assert start and " INFO " in start[0]
    chat_id = env["OFFICER_CHAT_ID"]
    assert (
        f'as @porchlight_test_bot; officer chat {chat_id} "Night shift"; long polling' in start[0]
    )
    # Requests were logged (with their URLs), but the token in them was not.
    assert "/bot123456:<redacted>/sendMessage" in log
    assert emulator.token not in log and "TEST-TOKEN" not in log
    # A brand-new database missed no weekly broadcast, whatever day this runs.
    assert "missed" not in log
    assert "Traceback" not in log


def test_a_traceback_in_the_log_does_not_show_the_token() -> None:
    token = "123456:ABCdef-secret_part"
    stream = io.StringIO()
    handler = configure_logging("INFO", token, stream)
    try:
        try:
            raise RuntimeError(f"POST https://api.telegram.org/bot{token}/getMe failed")
        except RuntimeError:
            logging.getLogger("telegram.ext.Updater").exception("while calling %s", token)
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert "while calling 123456:<redacted>" in text
    assert "bot123456:<redacted>/getMe failed" in text and "Traceback" in text
    assert "secret_part" not in text


async def test_a_webhook_port_in_use_is_one_line_and_a_failure(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = porchlight_env(
            emulator,
            tmp_path,
            WEBHOOK_URL="https://bot.example.org/telegram",
            WEBHOOK_SECRET="s3cret",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
        code, _, err = await finished(await porchlight_run(env, tmp_path), tmp_path)
    assert code == 1
    # One line says why; no traceback, no task left pending (the outbox drainer was stopped).
    # (Once in a loaded CI run a second, unlogged line appeared here: the message shows it.)
    lines = [line for line in err.splitlines() if " INFO " not in line]
    reason = f"Porchlight cannot start: cannot listen on 127.0.0.1:{port}"
    assert [line for line in lines if line.startswith("Porchlight cannot start")] == [
        line for line in lines if line.startswith(reason)
    ], err
    assert len([line for line in lines if line.startswith(reason)]) == 1, err
    assert "Traceback" not in err and "was destroyed but it is pending" not in err, err
