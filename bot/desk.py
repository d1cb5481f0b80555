"""The officer desk: a tip's status changed from its card, told to its resident, rated.

Statuses: new → acknowledged → taken → resolved, and spam; resolved and spam are closed and
can be reopened (back to acknowledged: an officer has seen it). Each button is one function
here; an impossible move is refused with who made it so ("Already resolved by Dana"). Of two
officers pressing at once exactly one wins: the change is a conditional UPDATE (… WHERE status =
the status read) in one transaction, and the loser is answered from the row as the winner left
it. Every change is audited, edits the card in place through the outbox (a card edit renders
the tip as it is when sent, so a burst of presses is one edit), and acknowledged, taken and
resolved each tell the resident once (dedupe keys), in their language. Spam tells nobody.
A press on a primary moves every tip merged into it, each resident told about their own tip
(bot/merge.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import callbacks as cb
from bot import content
from bot.cards import card_content
from bot.i18n import translate
from bot.tips import OfficerChat
from storage import Store, Tx
from storage.conflicts import rerun_on_conflict
from storage.models import CLOSED, Tip
from storage.outbox import PRIORITY_ANSWER, PRIORITY_NOTICE, NewDelivery
from storage.payload import JoinThread, Payload

CARD_EDIT = "card_edit"
OPEN = ("new", "acknowledged", "taken")
# action: (the status it leads to, the statuses it may leave)
MOVES = {
    "ack": ("acknowledged", ("new",)),
    "take": ("taken", ("new", "acknowledged")),
    "resolve": ("resolved", OPEN),
    "spam": ("spam", OPEN),
    "reopen": ("acknowledged", ("resolved", "spam")),
}
TOLD = {
    "acknowledged": "desk.told_acknowledged",
    "taken": "desk.told_taken",
    "resolved": "desk.told_resolved",
}
STARS = range(1, 6)


@dataclass(frozen=True)
class Actor:
    """The officer pressing: id for the audit log, first name for the card (officer chat)."""

    id: int
    name: str


@dataclass(frozen=True)
class Press:
    """What an officer is answered: a message id of the officer chat and its values."""

    moved: bool
    key: str
    values: dict[str, object]


@rerun_on_conflict
async def press(
    store: Store, officers: OfficerChat, *, tip_id: int, action: str, officer: Actor
) -> Press:
    """Carry out one desk button, or say why not. On a primary it moves its whole group
    (bot/merge.py); a merged tip's own card has no desk buttons, and an old one is refused."""
    target, sources = MOVES[action]
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return Press(False, "common.stale", {})
        if tip.merged_into is not None:
            return Press(False, "desk.merged", {"ref": tip.id, "into": tip.merged_into})
        if tip.status not in sources:
            return _refusal(tip, action, officer)
        if not await move_group(tx, officers, tip, target, officer, reopen=action == "reopen"):
            fresh = await tx.tips.get(tip_id)  # another process won between read and write
            return _refusal(fresh or tip, action, officer)
        await refresh_card(tx, officers, tip.id)
    return Press(True, f"desk.done_{action}", {"ref": tip_id})


async def acknowledge(store: Store, officers: OfficerChat, tip_id: int, officer: Actor) -> Press:
    return await press(store, officers, tip_id=tip_id, action="ack", officer=officer)


async def take(store: Store, officers: OfficerChat, tip_id: int, officer: Actor) -> Press:
    return await press(store, officers, tip_id=tip_id, action="take", officer=officer)


async def resolve(store: Store, officers: OfficerChat, tip_id: int, officer: Actor) -> Press:
    return await press(store, officers, tip_id=tip_id, action="resolve", officer=officer)


async def mark_spam(store: Store, officers: OfficerChat, tip_id: int, officer: Actor) -> Press:
    return await press(store, officers, tip_id=tip_id, action="spam", officer=officer)


async def reopen(store: Store, officers: OfficerChat, tip_id: int, officer: Actor) -> Press:
    return await press(store, officers, tip_id=tip_id, action="reopen", officer=officer)


def _refusal(tip: Tip, action: str, officer: Actor) -> Press:
    values: dict[str, object] = {"ref": tip.id, "name": tip.status_by_name or "?"}
    if tip.status == "taken":
        if tip.assignee_id == officer.id and action == "take":
            return Press(False, "desk.yours_already", values)
        values["name"] = tip.assignee_name or "?"
    if action == "reopen":
        return Press(False, "desk.still_open", values)
    return Press(False, f"desk.already_{tip.status}", values)


async def _move(tx: Tx, tip: Tip, target: str, officer: Actor, *, reopen: bool) -> bool:
    """One conditional change with its audit entry and the resident's news."""
    now: datetime = tx.clock.now()
    changes: dict[str, object] = {
        "status": target,
        "status_by_id": officer.id,
        "status_by_name": officer.name,
    }
    if tip.acknowledged_at is None and target != "spam":
        changes["acknowledged_at"] = now
    if target == "taken":
        changes.update(assignee_id=officer.id, assignee_name=officer.name)
    if target == "resolved":
        changes["resolved_at"] = now
    if reopen:
        changes.update(assignee_id=None, assignee_name=None, resolved_at=None)
    if not await tx.tips.move(tip.id, tip.status, changes):
        return False
    action = "tip.reopened" if reopen else f"tip.{target}"
    await tx.audit(action, actor_id=officer.id, tip_id=tip.id, detail=f"from {tip.status}")
    await _tell_resident(tx, tip, target)
    return True


async def move_group(
    tx: Tx, officers: OfficerChat, primary: Tip, target: str, officer: Actor, *, reopen: bool
) -> bool:
    """Move a tip and every tip merged into it (each resident told about their own tip);
    False when the primary had moved meanwhile. The primary's card is the caller's to edit.
    A group that closes or reopens changes the Merge button of the tips hinting at it."""
    if not await _move(tx, primary, target, officer, reopen=reopen):
        return False
    for member_id in primary.merged_tips:
        member = await tx.tips.get(member_id)
        if member is not None and member.status != target:
            await _move(tx, member, target, officer, reopen=reopen)
    if primary.is_open != (target not in CLOSED):
        for hinting in await tx.tips.hinting_at(primary.group_ids):
            await refresh_card(tx, officers, hinting)
    return True


async def align(tx: Tx, tip: Tip, leader: Tip, officer: Actor) -> None:
    """Give `tip` the status of `leader` (a merge: the group has one status), audited as the
    merging officer's and told to the tip's resident once, like any move."""
    changes: dict[str, object] = {
        "status": leader.status,
        "status_by_id": leader.status_by_id,
        "status_by_name": leader.status_by_name,
        "assignee_id": leader.assignee_id,
        "assignee_name": leader.assignee_name,
    }
    if tip.acknowledged_at is None:
        changes["acknowledged_at"] = tx.clock.now()
    if await tx.tips.move(tip.id, tip.status, changes):
        detail = f"from {tip.status}, merged with #{leader.id}"
        await tx.audit(f"tip.{leader.status}", actor_id=officer.id, tip_id=tip.id, detail=detail)
        await _tell_resident(tx, tip, leader.status)


async def first_answer(tx: Tx, officers: OfficerChat, answered: list[Tip], officer: Actor) -> None:
    """An officer's reply to the residents of `answered` (one tip, or a merged group): the
    first one to each counts as that tip's first answer, and acknowledges a new group. Inside
    the relay's transaction, before the reply is queued (so the resident reads "seen by
    officers" before the answer)."""
    for tip in answered:
        if not await tx.tips.answered(tip.id) or tip.merged_into is not None:
            continue  # a merged tip's card shows its group, not its first answer
        if tip.status == "new":
            await move_group(tx, officers, tip, "acknowledged", officer, reopen=False)
        await refresh_card(tx, officers, tip.id)


async def refresh_card(tx: Tx, officers: OfficerChat, tip_id: int) -> None:
    """Queue an edit of the tip's card. Two waiting edits are enough: the first may already be
    in flight with an older state, the second renders the newest when it goes."""
    lane = f"card:{tip_id}"
    if await tx.outbox.pending_in_lane(lane, CARD_EDIT) >= 2:
        return
    await tx.outbox.enqueue(
        NewDelivery(
            kind=CARD_EDIT,
            chat_id=officers.chat_id,
            lane=lane,
            priority=PRIORITY_ANSWER,
            tip_id=tip_id,
            payload=Payload(({"type": "card_edit", "tip_id": tip_id},)),
        )
    )


async def current_card(
    store: Store, officers: OfficerChat, tip_id: int
) -> tuple[int, content.Content] | None:
    """The card's message id and its content now (for the drainer's card edits)."""
    async with store.read() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None or tip.card_message_id is None:
            return None
        alert = await tx.broadcasts.get(tip.broadcast_id) if tip.broadcast_id else None
    return tip.card_message_id, card_content(tip, officers, alert)


async def _tell_resident(tx: Tx, tip: Tip, status: str) -> None:
    key = TOLD.get(status)
    if key is None or tip.resident_id is None:
        return
    resident = await tx.residents.get(tip.resident_id)
    if resident is None:
        return
    buttons = None
    if status == "resolved":
        buttons = [
            [(f"{n} ★", cb.TIP_RATE.build(cb.TipRating(tip.id, n))) for n in STARS],
        ]
    text = translate(resident.language, key, ref=tip.id)
    await tx.outbox.enqueue(
        NewDelivery(
            kind="status",
            chat_id=resident.user_id,
            priority=PRIORITY_NOTICE,
            tip_id=tip.id,
            dedupe_key=f"status:{tip.id}:{status}",
            payload=Payload((content.text(text, buttons),), link=JoinThread(tip.id, "status")),
        )
    )


@dataclass(frozen=True)
class Rated:
    """A rating press: `stars` given now, or the rating the tip already had (`already`)."""

    stars: int | None
    already: bool = False


async def rate(
    store: Store, officers: OfficerChat, *, tip_id: int, resident_id: int, stars: int
) -> Rated:
    """The resident rates their resolved tip, once (a later press changes nothing). Their
    thanks invite a comment: a reply to it is kept with the rating."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None or tip.resident_id != resident_id or tip.status != "resolved":
            return Rated(None)
        if tip.rating is not None:
            return Rated(tip.rating, already=True)
        if not await tx.tips.rate(tip.id, resident_id, stars):
            return Rated(None)
        await tx.audit("tip.rated", actor_id=None, tip_id=tip.id, detail=str(stars))
        resident = await tx.residents.get(resident_id)
        language = resident.language if resident else officers.language
        await tx.outbox.enqueue(
            NewDelivery(
                kind="status",
                chat_id=resident_id,
                priority=PRIORITY_NOTICE,
                tip_id=tip.id,
                dedupe_key=f"rated:{tip.id}",
                payload=Payload(
                    (content.text(translate(language, "desk.rated", ref=tip.id, stars=stars)),),
                    link=JoinThread(tip.id, "rating"),
                ),
            )
        )
        await refresh_card(tx, officers, tip.id)
    return Rated(stars)


async def comment(
    store: Store, officers: OfficerChat, *, tip_id: int, resident_id: int, text: str
) -> bool:
    """The comment on a rating (the resident's reply to the thanks), once; False otherwise."""
    async with store.transaction() as tx:
        if not await tx.tips.comment(tip_id, resident_id, text):
            return False
        await tx.audit("tip.rating_comment", actor_id=None, tip_id=tip_id)
        await refresh_card(tx, officers, tip_id)
    return True
