"""Blocking a resident without learning who they are.

Officers block *the resident behind a tip* (`/block #42`); the block is stored by the
resident's Telegram id, which never leaves this module and storage: officers see the tip
reference only, and the audit log records the tip, the officer and the reason, not the id.

A blocked resident's new tips (bot/tips.py) and follow-ups (bot/relay.py) are refused, and
they are told so in neutral words with the emergency number (never "you were blocked", which
would invite an abusive resident to come back under another account, and never silence, which
would leave a genuine one without the emergency route). Officers may still write to them:
replies on their earlier tips are relayed as usual.

A resident who erases their data (bot/erasure.py) does not escape a block: it is *held* under a
keyed hash of their id (HMAC-SHA256, the key derived from the bot token, which is not in the
database), and restored when the same account registers again. The database alone cannot tell
whose hash it is; a new token (BotFather's /revoke) forgets held blocks.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

from storage import Store, Tx

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
    DETACHED = "detached"  # past the retention period: no longer linked to anyone


def identity_key(token: str) -> bytes:
    """The key of held blocks' hashes: derived from the bot token, never stored."""
    return hashlib.sha256(b"porchlight/held-block/" + token.encode()).digest()


def resident_hash(key: bytes, resident_id: int) -> str:
    return hmac.new(key, str(resident_id).encode(), hashlib.sha256).hexdigest()


async def hold(tx: Tx, key: bytes, resident_id: int) -> bool:
    """Erasure: keep the resident's block (if any) under the hash of their id only."""
    return await tx.blocks.hold(resident_id, resident_hash(key, resident_id))


async def restore(tx: Tx, key: bytes, resident_id: int) -> bool:
    """Registration: an account whose block was held is blocked again."""
    return await tx.blocks.restore(resident_hash(key, resident_id), resident_id)


def _unlinked(detached: str | None) -> BlockOutcome:
    return BlockOutcome.DETACHED if detached == "retention" else BlockOutcome.RESIDENT_GONE


async def block(store: Store, *, tip_id: int, officer_id: int, reason: str | None) -> BlockOutcome:
    """Block the resident behind `tip_id`, audited with the tip and the reason."""
    reason = (reason or "").strip()[:REASON_LIMIT] or None
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return BlockOutcome.NO_TIP
        if tip.resident_id is None:
            return _unlinked(tip.detached)
        if not await tx.blocks.add(
            tip.resident_id, tip_id=tip.id, reason=reason, officer_id=officer_id
        ):
            return BlockOutcome.ALREADY_BLOCKED
        await tx.audit("resident.blocked", actor_id=officer_id, tip_id=tip.id, detail=reason or "")
    return BlockOutcome.BLOCKED


async def unblock(store: Store, *, tip_id: int, officer_id: int) -> BlockOutcome:
    """Lift the block on the resident behind `tip_id` (whichever of their tips it came from;
    once they erased their data, the tip the block was made from)."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return BlockOutcome.NO_TIP
        if tip.resident_id is None and not await tx.blocks.lift_by_tip(tip.id):
            return _unlinked(tip.detached)
        if tip.resident_id is not None and not await tx.blocks.remove(tip.resident_id):
            return BlockOutcome.NOT_BLOCKED
        await tx.audit("resident.unblocked", actor_id=officer_id, tip_id=tip.id)
    return BlockOutcome.UNBLOCKED


async def is_blocked(store: Store, resident_id: int) -> bool:
    async with store.read() as tx:
        return await tx.blocks.get(resident_id) is not None
