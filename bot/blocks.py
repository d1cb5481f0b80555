"""Blocking a resident without learning who they are.

Officers block *the resident behind a tip* (`/block #42`); the block is stored by the
resident's Telegram id, which never leaves this module and storage: officers see the tip
reference only, and the audit log records the tip, the officer and the reason, not the id.

A blocked resident's new tips (bot/tips.py) and follow-ups (bot/relay.py) are refused, and
they are told so in neutral words with the emergency number (never "you were blocked", which
would invite an abusive resident to come back under another account, and never silence, which
would leave a genuine one without the emergency route). Officers may still write to them:
replies on their earlier tips are relayed as usual.
"""

from __future__ import annotations

from enum import Enum

from storage import Store

REASON_LIMIT = 200


class Blocked(Exception):
    """The resident may not reach officers."""


class BlockOutcome(Enum):
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    ALREADY_BLOCKED = "already_blocked"
    NOT_BLOCKED = "not_blocked"
    NO_TIP = "no_tip"
    RESIDENT_GONE = "resident_gone"  # the resident erased their data: nobody to block


async def block(store: Store, *, tip_id: int, officer_id: int, reason: str | None) -> BlockOutcome:
    """Block the resident behind `tip_id`, audited with the tip and the reason."""
    reason = (reason or "").strip()[:REASON_LIMIT] or None
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return BlockOutcome.NO_TIP
        if tip.resident_id is None:
            return BlockOutcome.RESIDENT_GONE
        if not await tx.blocks.add(
            tip.resident_id, tip_id=tip.id, reason=reason, officer_id=officer_id
        ):
            return BlockOutcome.ALREADY_BLOCKED
        await tx.audit("resident.blocked", actor_id=officer_id, tip_id=tip.id, detail=reason or "")
    return BlockOutcome.BLOCKED


async def unblock(store: Store, *, tip_id: int, officer_id: int) -> BlockOutcome:
    """Lift the block on the resident behind `tip_id` (whichever of their tips it came from)."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return BlockOutcome.NO_TIP
        if tip.resident_id is None:
            return BlockOutcome.RESIDENT_GONE
        if not await tx.blocks.remove(tip.resident_id):
            return BlockOutcome.NOT_BLOCKED
        await tx.audit("resident.unblocked", actor_id=officer_id, tip_id=tip.id)
    return BlockOutcome.UNBLOCKED


async def is_blocked(store: Store, resident_id: int) -> bool:
    async with store.read() as tx:
        return await tx.blocks.get(resident_id) is not None
