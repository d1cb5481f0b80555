"""The safety-advice library: what residents browse by topic and officers curate.

Plain functions over storage, so handlers never open a transaction: listing, adding (with
an audit entry), and taking an entry out of (or back into) the weekly rotation.
"""

from __future__ import annotations

from storage import Store
from storage.broadcasts import NewAdvice
from storage.models import Advice


async def by_topic(store: Store, topic: str) -> list[Advice]:
    """The active entries of one topic, as residents see them in /safety."""
    async with store.read() as tx:
        return await tx.library.list(topic=topic)


async def everything(store: Store) -> list[Advice]:
    """Every entry, retired ones too, for officers' list."""
    async with store.read() as tx:
        return await tx.library.list(active_only=False)


async def add(
    store: Store,
    *,
    key: str,
    topic: str,
    title_en: str,
    body_en: str,
    title_es: str,
    body_es: str,
    officer_id: int,
) -> None:
    """An officer's new entry (once per `key`: the command message that added it)."""
    async with store.transaction() as tx:
        await tx.library.add(
            NewAdvice(
                key=key,
                topic=topic,
                title_en=title_en,
                body_en=body_en,
                title_es=title_es,
                body_es=body_es,
                added_by=officer_id,
            )
        )
        await tx.audit("library.add", actor_id=officer_id, tip_id=None, detail=title_en)


async def set_active(store: Store, entry_id: int, active: bool, *, officer_id: int) -> bool:
    """Restore (active) or retire an entry; False when there is no such entry to change."""
    action = "library.restore" if active else "library.retire"
    async with store.transaction() as tx:
        changed = await tx.library.set_active(entry_id, active)
        if changed:
            await tx.audit(action, actor_id=officer_id, tip_id=None, detail=str(entry_id))
    return changed
