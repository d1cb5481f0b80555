"""``python -m bench.inbox [--updates 1000]``: what the inbox adds to each update.

Why: every update now costs a commit before it is queued and a mark after it was handled; this
prints that cost beside a plain ``asyncio.Queue``, for updates handled one by one (a quiet
bot: every mark is its own commit) and eight at a time (marks share commits).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from telegram import Bot, Update

from bot.inbox import Inbox
from storage import Store

TOKEN = "123456:BENCH"


def update(update_id: int, bot: Bot) -> Update:
    user = {"id": 1_000_001, "is_bot": False, "first_name": "Alice", "language_code": "en"}
    message = {
        "message_id": update_id,
        "date": 1_764_000_000,
        "chat": {"id": 1_000_001, "type": "private", "first_name": "Alice"},
        "from": user,
        "text": "White van parked on Elm St for three days",
    }
    return Update.de_json({"update_id": update_id, "message": message}, bot)


Cost = tuple[float, float]  # wall seconds, CPU seconds (every thread of the process)


def since(wall: float, cpu: float) -> Cost:
    return time.perf_counter() - wall, time.process_time() - cpu


async def plain(updates: list[Update]) -> Cost:
    queue: asyncio.Queue[object] = asyncio.Queue()
    wall, cpu = time.perf_counter(), time.process_time()
    for item in updates:
        await queue.put(item)
        await queue.get()
    return since(wall, cpu)


async def inbox(
    updates: list[Update], folder: Path, together: int, *, polled: bool = False
) -> Cost:
    """`polled`: each batch arrives as one getUpdates answer (bot/http.RawUpdates), and the
    inbox stores it whole at its first update."""
    store = Store(str(folder / f"inbox-{together}-{polled}.sqlite3"))
    await store.open()
    queue = Inbox(store)
    wire = [item.to_dict() for item in updates]  # what Telegram sent: decoded by aiohttp, not here
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(updates), together):
        batch = updates[start : start + together]
        if polled:
            queue.received(wire[start : start + together])
        for item in batch:
            await queue.put(item)
            await queue.get()
        await asyncio.gather(*(queue.handled(item) for item in batch))
    cost = since(wall, cpu)
    await store.close()
    return cost


async def main(count: int) -> None:
    bot = Bot(TOKEN)
    updates = [update(700_000_001 + i, bot) for i in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [
            ("asyncio.Queue (PTB's default)", await plain(updates)),
            ("inbox, one by one", await inbox(updates, folder, 1)),
            ("inbox, 8 at a time", await inbox(updates, folder, 8)),
            (
                "inbox, 100 polled at once (a burst in one getUpdates), marked together",
                await inbox(updates, folder, 100, polled=True),
            ),
        ]
    print(f"| {count} updates: put + get + handled | wall µs per update | CPU µs per update |")
    print("|---|---:|---:|")
    for name, (wall, cpu) in rows:
        print(f"| {name} | {wall / count * 1e6:.0f} | {cpu / count * 1e6:.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.inbox", description=__doc__)
    parser.add_argument("--updates", type=int, default=1000)
    asyncio.run(main(parser.parse_args().updates))
