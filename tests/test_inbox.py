"""No update lost to a crash: an update is stored before Telegram is told it arrived, and
handled after a restart if the process died first — once, however often it is delivered."""

from __future__ import annotations

from pathlib import Path

from storage import Store


async def test_the_inbox_keeps_each_update_once_until_it_was_handled(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "inbox.sqlite3"))
    await store.open()
    async with store.transaction() as tx:
        assert await tx.inbox.add(8, {"update_id": 8})
        assert await tx.inbox.add(7, {"update_id": 7})
        assert not await tx.inbox.add(8, {"update_id": 8})
        assert [e.update_id for e in await tx.inbox.pending()] == [8, 7], "in arrival order"
        await tx.inbox.mark_handled([7])
        assert [e.payload for e in await tx.inbox.pending()] == [{"update_id": 8}]
        assert not await tx.inbox.add(7, {"update_id": 7}), "a handled id is remembered"
        assert await tx.inbox.forget_handled(store.clock.now()) == 1
        assert await tx.inbox.add(7, {"update_id": 7})
    await store.close()
