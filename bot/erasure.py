"""Erasure (/deleteme): a resident's personal data goes, in one transaction; their tips stay.

What goes: their registration (Telegram id, language, subscriptions), event answers, session
(drafts, quick-tip offers, "add information to #N") and conversation steps, every delivery to
their chat (pending ones never go out), the shared name on their tips, every mapping from their
chat to a tip, the chat a follow-up came from, and the "added by" of a community group they
added. What stays: the tips, on record and detached (their text, media, place, follow-ups'
text, rating and comment; what officers wrote), shown to officers as from "a resident who erased
their data". An officer's reply to such a tip is answered with that (bot/relay.py).

A block on the resident is not lifted: it is held under a keyed hash of their id (bot/blocks.py),
so erasing cannot be used to escape one. What lives in memory only (PTB's copy of the session,
the flood counter) is the handler's to drop, after this commits.

The audit log never names a resident (their actions are audited with no actor), so it has
nothing to erase; each detached tip gets a "tip.erased" entry, so its history says why it has
no resident any more.
"""

from __future__ import annotations

from dataclasses import replace

from bot import blocks, desk
from bot.cards import card_content
from bot.tips import OfficerChat
from storage import Store
from storage.conflicts import rerun_on_conflict
from storage.privacy import Holdings

ERASED = "erased"


async def holdings(store: Store, user_id: int) -> Holdings:
    """What /deleteme is about to erase (and leave), counted."""
    async with store.read() as tx:
        return await tx.privacy.holdings(user_id)


def anything_kept(kept: Holdings) -> bool:
    return kept.registered or kept.tips > 0 or kept.answers > 0


def group_labels(first: str | None, last: str | None, username: str | None) -> list[str]:
    """How a community group's "added by" names a person (handlers/groups.py)."""
    labels = [f"@{username}"] if username else []
    full = " ".join(part for part in (first, last) if part)
    return [*labels, full] if full else labels


@rerun_on_conflict
async def erase(
    store: Store, officers: OfficerChat, *, user_id: int, labels: list[str], key: bytes
) -> int:
    """Erase the person's data; returns how many tips stayed on record, detached."""
    async with store.transaction() as tx:
        privacy = tx.privacy
        tip_ids = await privacy.tips_of(user_id)
        await blocks.hold(tx, key, user_id)
        await privacy.detach(tip_ids, ERASED)
        await privacy.forget_deliveries_of_tips(tip_ids)
        await privacy.forget_resident(user_id)
        await privacy.forget_group_adder(labels)
        for tip_id in tip_ids:
            tip = await tx.tips.get(tip_id)
            if tip is None:
                continue
            alert = await tx.broadcasts.get(tip.broadcast_id) if tip.broadcast_id else None
            card = card_content(tip, officers, alert)
            # A card still waiting is posted as the tip is now (no shared name in it); a posted
            # one is edited in place, so officers see the name gone and why replies go nowhere.
            for row in await tx.outbox.pending_cards(tip.id):
                if row.payload is not None:
                    await tx.outbox.set_payload(
                        row.id, replace(row.payload, contents=(card, *row.payload.contents[1:]))
                    )
            if tip.card_message_id is not None:
                await desk.refresh_card(tx, officers, tip.id)
            await tx.audit("tip.erased", actor_id=None, tip_id=tip.id)
    return len(tip_ids)
