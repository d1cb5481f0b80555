"""Scenario: the bot as a process on a big deployment's database (100,000 residents, 20,000
tips, 1,000,000 delivery rows, seeded by bench/stats.py): start-up, /mytips, memory, size.

Why: what a deployer and a resident notice once the history is large is how long a restart
keeps the bot silent, how fast a resident's own list comes back, and how much memory and disk
it takes. Measured on the real `python -m bot run` in its own process, against the emulator:
start-up from spawning the process to its first getUpdates (polling), /mytips from the update
to the emulator receiving the answer, RSS from /proc after the measurements.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.telegram.emulator import BotApiEmulator

from .common import POLL

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
ANSWER_TIMEOUT = 10.0
RUNS = 20
OWN_TIPS = 50  # the /mytips resident: a heavy reporter (the list shows the latest few)
STARTUP_GOAL_S = 2.0
MYTIPS_GOAL_MS = 20.0
RSS_GOAL_MB = 200.0


@dataclass
class ScaleResult:
    database_mb: float = 0.0
    startup_s: float = float("nan")
    mytips_ms: list[float] = field(default_factory=list)
    rss_mb: float = float("nan")  # after the measurements
    peak_rss_mb: float = float("nan")  # the process's high-water mark (VmHWM)
    notes: list[str] = field(default_factory=list)

    def mytips(self, q: int) -> float:
        if not self.mytips_ms:
            return float("nan")
        if q == 50:
            return statistics.median(self.mytips_ms)
        return statistics.quantiles(self.mytips_ms, n=100, method="inclusive")[q - 1]


def _give_tips(database: str, user_id: int) -> None:
    """Make `user_id` (an emulator user) a resident with OWN_TIPS of the seeded tips."""
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO residents (user_id, language, created_at, updated_at)"
            " SELECT ?, 'en', created_at, updated_at FROM residents LIMIT 1",
            (user_id,),
        )
        conn.execute(
            "UPDATE tips SET resident_id = ? WHERE id IN"
            " (SELECT id FROM tips ORDER BY id DESC LIMIT ?)",
            (user_id, OWN_TIPS),
        )


def _size_mb(database: str) -> float:
    files = [Path(database), Path(database + "-wal")]
    return sum(p.stat().st_size for p in files if p.exists()) / 2**20


def _memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


async def run(database: str) -> ScaleResult:
    """The bot as a process on `database` (seeded, migrated)."""
    emu = BotApiEmulator()
    await emu.start()
    emu.clock = time.monotonic
    result = ScaleResult()
    resident = emu.add_user("Heavy", last_name="Reporter")
    _give_tips(database, resident.id)
    result.database_mb = _size_mb(database)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "BOT_TOKEN": emu.token,
        "OFFICER_CHAT_ID": str(emu.add_group("Officers", members={})),
        "DATABASE_PATH": database,
        "TELEGRAM_API_URL": emu.url,
        "LOG_LEVEL": "WARNING",
        # The bot's own pace of about 1 message a second per private chat (burst 3) would hold
        # every third of these back-to-back answers ~3 s, as Telegram would: it is not the path
        # measured here.
        "RATE_LIMIT_PRIVATE_PER_SECOND": "0",
    }
    log = Path(database).with_suffix(".log")
    try:
        with log.open("wb") as out:
            spawned = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=out, stderr=out
            )
        try:
            polling = await _first_poll(emu, spawned, process)
            result.startup_s = polling - spawned
            await _mytips(emu, resident.id, result)
            result.rss_mb, result.peak_rss_mb = _memory(process.pid)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 20)
    except (AssertionError, TimeoutError) as error:
        result.notes.append(f"{error}: {log.read_text()[-2000:]}")
    finally:
        await emu.stop()
    return result


async def _first_poll(
    emu: BotApiEmulator, since: float, process: asyncio.subprocess.Process
) -> float:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.returncode is None:
        for call in emu.calls:
            if call.method == "getUpdates" and call.t >= since:
                return call.t
        await asyncio.sleep(POLL)
    raise AssertionError("the bot did not start polling")


async def _mytips(emu: BotApiEmulator, user_id: int, result: ScaleResult) -> None:
    user = emu.users[user_id]
    for run_index in range(RUNS + 1):  # the first is a warm-up: the resident is looked up
        seen = len(emu.calls)
        sent = time.monotonic()
        emu.user_sends(user, text="/mytips")
        answered = await _answer(emu, user_id, seen)
        if run_index:
            result.mytips_ms.append((answered - sent) * 1000)
        await asyncio.sleep(0.05)


async def _answer(emu: BotApiEmulator, chat_id: int, seen: int) -> float:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        for call in emu.calls[seen:]:
            if call.method == "sendMessage" and str(call.chat_id) == str(chat_id) and call.ok:
                return call.t
        await asyncio.sleep(POLL / 2)
    raise AssertionError("/mytips was not answered in time")
