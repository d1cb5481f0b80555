"""Residents' registration, preferences (opt-in, language, topics) and reachability."""

from __future__ import annotations

from bot import blocks
from storage import Store
from storage.models import TOPICS as TOPICS  # the topics a resident may follow
from storage.models import Resident


async def set_opt_in(store: Store, user_id: int, opted_in: bool) -> None:
    async with store.transaction() as tx:
        await tx.residents.set_opt_in(user_id, opted_in)


async def set_language(store: Store, user_id: int, language: str) -> None:
    async with store.transaction() as tx:
        await tx.residents.set_language(user_id, language)


async def set_reachable(
    store: Store, user_id: int, reachable: bool, *, default_language: str, key: bytes
) -> None:
    """Telegram told us the resident blocked (or unblocked) the bot."""
    if reachable:
        await ensure(store, user_id, default_language, key=key)
        return
    async with store.transaction() as tx:
        await tx.residents.mark_unreachable(user_id)


async def ensure(store: Store, user_id: int, language: str, *, key: bytes) -> Resident:
    """The resident, registered at their first private message with `language`. An account
    that erased its data while blocked is blocked again (bot/blocks.py; `key`: identity_key)."""
    async with store.transaction() as tx:
        new = await tx.residents.get(user_id) is None
        resident = await tx.residents.ensure(user_id, language)
        if new:
            await blocks.restore(tx, key, user_id)
        return resident


async def get(store: Store, user_id: int) -> Resident | None:
    async with store.read() as tx:
        return await tx.residents.get(user_id)


async def toggle_subscription(store: Store, user_id: int, topic: str) -> bool:
    """Switch one topic on or off; False when the resident is unknown."""
    async with store.transaction() as tx:
        resident = await tx.residents.get(user_id)
        if resident is None:
            return False
        await tx.residents.set_subscription(user_id, topic, topic not in resident.subscriptions)
    return True
