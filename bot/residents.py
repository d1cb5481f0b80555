"""Residents' registration, preferences (opt-in, language, topics) and reachability."""

from __future__ import annotations

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
    store: Store, user_id: int, reachable: bool, *, default_language: str
) -> None:
    """Telegram told us the resident blocked (or unblocked) the bot."""
    async with store.transaction() as tx:
        if reachable:
            await tx.residents.ensure(user_id, default_language)
        else:
            await tx.residents.mark_unreachable(user_id)


async def ensure(store: Store, user_id: int, language: str) -> Resident:
    """The resident, registered at their first private message with `language`."""
    async with store.transaction() as tx:
        return await tx.residents.ensure(user_id, language)


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
