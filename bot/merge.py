"""Merging a possible duplicate into the tip it looks like: one status, one thread.

A card that says "Possibly the same as #41" (bot/duplicates.py) carries "🔗 Merge into #41"
while both tips are open. Pressing it merges the newer tip into the older one's group: #41 is
the *primary*, and its card and status speak for every tip merged into it. Groups are flat: a
tip merged into a tip that is itself merged joins that tip's primary, and the tips merged into
the newer one follow it.

After a merge the group has one status: the primary's, with two rules so that nobody is told
something that goes backwards — a merge is an officer's look at both tips, so a new group
becomes acknowledged; and a merged tip already taken lends its status (and assignee) to the
group. Every tip whose status changes tells its own resident once, about their own tip number
(bot/desk.py). Later desk presses on the primary move the whole group; replies on the group's
thread reach every resident, each on their own tip (bot/relay.py).

Of two officers pressing at once exactly one merges (a conditional UPDATE that also demands
the primary still open and unmerged); the other is answered from the row as the winner left
it. Unmerge takes a tip out of its group again: it keeps the status the group had, its card
gets its own buttons back, nobody outside the officer chat is told. Both are audited on both
tips ("merged into #41" / "#42 merged in").
"""

from __future__ import annotations

from bot import desk
from bot.desk import Actor, Press, align, refresh_card
from bot.tips import OfficerChat
from storage import Store, Tx
from storage.conflicts import rerun_on_conflict
from storage.models import Tip

RANK = {"new": 0, "acknowledged": 1, "taken": 2}  # the open statuses, in the desk's order


@rerun_on_conflict
async def merge(
    store: Store, officers: OfficerChat, *, tip_id: int, into: int, officer: Actor
) -> Press:
    """Merge tip `tip_id` into the group of `into`, the tip its hint names (anything else was
    not issued by us); or say why not."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None or tip.duplicate_of != into:
            return Press(False, "common.stale", {})
        hinted = await tx.tips.get(into)
        primary = await tx.tips.get(hinted.primary_id) if hinted is not None else None
        if primary is None or primary.id == tip.id:
            return Press(False, "common.stale", {})
        refused = _refusal(tip, primary)
        if refused is not None:
            return refused
        if not await tx.tips.merge(tip.id, primary.id, officer.id, officer.name):
            return _refusal(await _fresh(tx, tip), await _fresh(tx, primary)) or Press(
                False, "common.stale", {}
            )
        await tx.tips.regroup(tip.id, primary.id)
        await tx.audit("tip.merged", actor_id=officer.id, tip_id=tip.id, detail=str(primary.id))
        await tx.audit("tip.merged_in", actor_id=officer.id, tip_id=primary.id, detail=str(tip.id))
        group = await _fresh(tx, primary)
        await _one_status(tx, officers, group, officer)
        for member in (await _fresh(tx, group)).group_ids:
            await refresh_card(tx, officers, member)
    return Press(True, "merge.done", {"ref": tip.id, "into": primary.id})


@rerun_on_conflict
async def unmerge(store: Store, officers: OfficerChat, *, tip_id: int, officer: Actor) -> Press:
    """Take a merged tip out of its group: it keeps the group's status and goes its own way."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return Press(False, "common.stale", {})
        primary = tip.merged_into
        if primary is None or not await tx.tips.unmerge(tip.id, primary):
            return Press(False, "unmerge.not_merged", {"ref": tip.id})
        await tx.audit("tip.unmerged", actor_id=officer.id, tip_id=tip.id, detail=str(primary))
        await tx.audit("tip.split_off", actor_id=officer.id, tip_id=primary, detail=str(tip.id))
        await refresh_card(tx, officers, tip.id)
        await refresh_card(tx, officers, primary)
    return Press(True, "unmerge.done", {"ref": tip.id, "into": primary})


def _refusal(tip: Tip, primary: Tip) -> Press | None:
    """Why this merge cannot happen now (None: it can)."""
    if tip.merged_into is not None:
        values = {"ref": tip.id, "into": tip.merged_into, "name": tip.merged_by_name or "?"}
        return Press(False, "merge.already", values)
    if not tip.is_open:
        return Press(False, "merge.tip_closed", {"ref": tip.id})
    if not primary.is_open:
        return Press(False, "merge.primary_closed", {"ref": tip.id, "into": primary.id})
    return None


async def _fresh(tx: Tx, tip: Tip) -> Tip:
    return await tx.tips.get(tip.id) or tip


async def _one_status(tx: Tx, officers: OfficerChat, primary: Tip, officer: Actor) -> None:
    """The group's one status: the furthest of its tips' (new < acknowledged < taken), and at
    least acknowledged (the merging officer has seen them all)."""
    members = [await tx.tips.get(member) for member in primary.merged_tips]
    group = [primary, *(member for member in members if member is not None)]
    leader = max(group, key=lambda tip: RANK.get(tip.status, 0))  # the primary on a tie
    if leader.status == "new":
        await desk.move_group(tx, officers, primary, "acknowledged", officer, reopen=False)
        return
    for tip in group:
        if (tip.status, tip.assignee_id) != (leader.status, leader.assignee_id):
            await align(tx, tip, leader, officer)
