"""Residents' preferences and reachability."""

from __future__ import annotations

from storage import Store


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
