"""Community groups: added by anyone, approved by officers, then they receive broadcasts."""

from __future__ import annotations

import logging

from bot import content
from bot.i18n import plain, translate
from bot.tips import OfficerChat
from storage import Store
from storage.models import CommunityGroup
from storage.outbox import PRIORITY_NOTICE, NewDelivery
from storage.payload import Payload

log = logging.getLogger(__name__)


async def bot_added(
    store: Store, officers: OfficerChat, *, chat_id: int, title: str, added_by: str | None
) -> None:
    """Record the group as pending and ask officers: Approve · Leave."""
    lang = officers.language
    async with store.transaction() as tx:
        await tx.groups.upsert(chat_id, title, "pending", added_by_name=added_by, language=lang)
        await tx.audit("group.added", actor_id=None, tip_id=None, detail=f"{chat_id} {title}")
        if added_by:
            text = translate(lang, "groups.card", title=title, by=added_by)
        else:
            text = translate(lang, "groups.card_unknown_adder", title=title)
        buttons = [
            [
                (plain(lang, "groups.approve"), f"grp:ok:{chat_id}"),
                (plain(lang, "groups.leave"), f"grp:leave:{chat_id}"),
            ]
        ]
        await tx.outbox.enqueue(
            NewDelivery(
                kind="group_card",
                chat_id=officers.chat_id,
                payload=Payload((content.text(text, buttons),)),
                lane=f"group:{chat_id}",
                priority=PRIORITY_NOTICE,
            )
        )


async def bot_removed(store: Store, officers: OfficerChat, chat_id: int) -> None:
    """Removed or banned: deliveries there stop; officers hear of it if it was approved."""
    async with store.transaction() as tx:
        group = await tx.groups.get(chat_id)
        if group is None or group.status == "left":
            return
        await tx.groups.set_status(chat_id, "left")
        await tx.audit("group.removed", actor_id=None, tip_id=None, detail=str(chat_id))
        if group.status == "approved":
            text = translate(officers.language, "groups.removed", title=group.title)
            await tx.outbox.enqueue(
                NewDelivery(
                    kind="officer_notice",
                    chat_id=officers.chat_id,
                    payload=Payload((content.text(text),)),
                    lane=f"group:{chat_id}",
                    priority=PRIORITY_NOTICE,
                )
            )


async def decide(
    store: Store, chat_id: int, *, approve: bool, officer_id: int
) -> CommunityGroup | None:
    """An officer's answer on a group card; None when the group is unknown or already gone."""
    async with store.transaction() as tx:
        group = await tx.groups.get(chat_id)
        if group is None or group.status == "left":
            return None
        await tx.groups.set_status(chat_id, "approved" if approve else "left")
        await tx.audit(
            "group.approved" if approve else "group.left",
            actor_id=officer_id,
            tip_id=None,
            detail=str(chat_id),
        )
    return group


async def migrated(store: Store, old_chat_id: int, new_chat_id: int) -> None:
    async with store.transaction() as tx:
        if await tx.groups.get(old_chat_id) is not None:
            await tx.groups.migrate(old_chat_id, new_chat_id)
            log.info("community group %s is now supergroup %s", old_chat_id, new_chat_id)
