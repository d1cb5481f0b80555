"""`porchlight run` in a child process, against a Bot API emulator running in the test.

Why: only a real process can be killed with SIGKILL — no `finally`, no shutdown hook, no last
getUpdates. Crash stories start the console script from the worktree's venv, wait until it
asks Telegram for updates, and kill it (or stop it gracefully) while the emulator watches.

    async with BotProcess(emu, database=path, officer_chat_id=chat, workdir=tmp) as bot:
        ...
        bot.kill()          # kill -9, reaped
    # or: await bot.stop()  # SIGTERM: PTB drains and exits

In webhook mode (WEBHOOK_PORT in `env`) a child is ready when its own port accepts a
connection: python-telegram-bot registers the webhook first and listens after, so that moment
is this child's, however many replicas start together (tests/telegram/replicas.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .emulator import BotApiEmulator

PORCHLIGHT = Path(sys.executable).with_name("porchlight")
# Polling's bootstrap (deleteWebhook) or a webhook's registration: the next step is updates.
READY_CALLS = ("deleteWebhook", "setWebhook")


class BotProcess:
    """One `porchlight run` child; its log (stdout and stderr) goes to `log_path`."""

    _count = 0

    def __init__(
        self,
        emu: BotApiEmulator,
        *,
        database: str | Path,
        officer_chat_id: int,
        workdir: Path,
        env: dict[str, str] | None = None,
        log_level: str = "INFO",
    ) -> None:
        BotProcess._count += 1
        self.emu = emu
        self.workdir = workdir
        self.log_path = workdir / f"porchlight-{BotProcess._count}.log"
        # Nothing inherited but what runs Python: a developer's .env or shell cannot leak in.
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONUNBUFFERED": "1",
            "BOT_TOKEN": emu.token,
            "OFFICER_CHAT_ID": str(officer_chat_id),
            **(
                {"DATABASE_URL": str(database)}
                if str(database).startswith("postgresql://")
                else {"DATABASE_PATH": str(database)}
            ),
            "TELEGRAM_API_URL": emu.url,
            "LOG_LEVEL": log_level,
            **(env or {}),
        }
        self.popen: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 15.0) -> BotProcess:  # noqa: ASYNC109
        """Spawn the process and wait until it is about to ask for updates (or, in webhook
        mode, listens for them)."""
        seen = self._ready_calls()
        popen = self.popen = self._spawn()
        deadline = time.monotonic() + timeout
        while not self._ready(seen):
            if popen.poll() is not None:
                raise AssertionError(f"porchlight exited with {popen.returncode}\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"porchlight not ready after {timeout}s\n{self.log()}")
            await asyncio.sleep(0.01)
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        """Fork and exec return at once; the slow part (start-up) is waited for above."""
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [str(PORCHLIGHT), "run"],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def webhook_port(self) -> int | None:
        port = self.env.get("WEBHOOK_PORT")
        return int(port) if port and self.env.get("WEBHOOK_URL") else None

    def _ready(self, calls_seen: int) -> bool:
        port = self.webhook_port
        if port is None:
            return self._ready_calls() > calls_seen
        host = self.env.get("WEBHOOK_LISTEN", "127.0.0.1")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False

    def _ready_calls(self) -> int:
        return sum(1 for call in self.emu.calls if call.method in READY_CALLS)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """kill -9: the process gets no chance to finish anything."""
        if self.popen is not None and self.running:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    async def stop(self, timeout: float = 10.0) -> int:  # noqa: ASYNC109
        """SIGTERM, as a service manager stops it; waits for the exit and returns its code."""
        assert self.popen is not None, "not started"
        if self.running:
            self.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.popen.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"porchlight did not stop within {timeout}s\n{self.log()}")
            await asyncio.sleep(0.01)
        return self.popen.returncode

    def log(self, last: int = 60) -> str:
        lines = (
            self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        )
        return "\n".join(lines[-last:])

    async def __aenter__(self) -> BotProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.kill()
