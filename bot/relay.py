"""The conversation on a tip: officer replies to residents, internal notes, resident follow-ups.

Officers reach residents only through here, and only by tip: the officer chat never learns who
the resident is, and residents never learn which officer answered.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bot import content, desk
from bot.cards import tip_priority
from bot.content import Content
from bot.i18n import N_, translate
from bot.tips import OfficerChat
from storage import Store, Tx
from storage.models import Resident, ThreadLink, Tip
from storage.outbox import PRIORITY_COSMETIC, PRIORITY_NOTICE, PRIORITY_RELAY, NewDelivery
from storage.payload import FollowUp, JoinThread, Payload
from storage.tips import NewTipMessage

DELIVERED_REACTION = "👍"
NOTE_REACTION = "✍"


@dataclass(frozen=True)
class Said:
    """What someone sent, reduced to what we can store and re-send."""

    kind: str  # text, photo, video, voice, document, audio, animation, location
    text: str | None = None  # the text, or a media caption
    file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def body(self) -> Content:
        escaped = html.escape(self.text or "", quote=False)
        if self.kind == "text":
            return content.text(escaped)
        if self.kind == "location":
            return {"type": "location", "latitude": self.latitude, "longitude": self.longitude}
        return {"type": self.kind, "file_id": self.file_id, "caption": escaped or None}


def cosmetic_lane(tip_id: int) -> str:
    """Reactions wait in a lane of their own: a failing 👍 never holds up a tip's messages."""
    return f"react:tip:{tip_id}"


class Outcome(Enum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    NO_TIP = "no_tip"
    RESIDENT_GONE = "resident_gone"
    NOT_YOURS = "not_yours"
    BLOCKED = "blocked"  # the resident may not reach officers (bot/blocks.py)


def _reaction(message_id: int, emoji: str) -> Payload:
    return Payload(contents=({"type": "reaction", "message_id": message_id, "emoji": emoji},))


def _notice(officers: OfficerChat, tip_id: int, key: str, reply_to: int) -> Payload:
    """A note for officers, threaded under the officer's own message."""
    return Payload(
        contents=(content.text(translate(officers.language, key, ref=tip_id)),),
        link=JoinThread(tip_id, "notice"),
        reply_to=reply_to,
    )


def _officer_notice(
    officers: OfficerChat, tip_id: int, key: str, reply_to: int, *, reason: bool = False
) -> FollowUp:
    """The same note, as what follows a relay's outcome."""
    return FollowUp(
        kind="officer_notice",
        chat_id=officers.chat_id,
        lane=f"tip:{tip_id}",
        priority=PRIORITY_NOTICE,
        append_reason=reason,
        payload=_notice(officers, tip_id, key, reply_to),
    )


async def thread_link(store: Store, chat_id: int, message_id: int) -> ThreadLink | None:
    """Which tip (and which of its messages: card, relay, note…) a chat's message belongs to:
    a reply to it is about that tip."""
    async with store.read() as tx:
        return await tx.tips.find_link(chat_id, message_id)


async def relay_officer_reply(
    store: Store,
    officers: OfficerChat,
    *,
    tip_id: int,
    officer_id: int,
    said: Said,
    source_message_id: int,
    officer_name: str = "",
    whole_group: bool = True,
    in_language: Callable[[str], str] | None = None,
) -> Outcome:
    """Store an officer's reply and queue it for the resident, with a receipt for officers.
    The first reply is the tip's first answer, and acknowledges a new tip (bot/desk.py).

    On a merged group (bot/merge.py) the reply goes to every resident of the group, each on
    their own tip number, unless `whole_group` is False (a reply to one resident's follow-up
    answers that resident). `in_language` gives each resident the text in their language (a
    canned reply)."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return Outcome.NO_TIP
        created = await _record(
            tx, tip, "officer", said, officers.chat_id, source_message_id, officer_id
        )
        if not created:
            return Outcome.DUPLICATE
        answered = [tip]
        if whole_group:  # the primary first: its lane, its card's first answer
            answered = [await tx.tips.get(tip.primary_id) or tip]
            for member in answered[0].merged_tips:
                found = await tx.tips.get(member)
                if found is not None:
                    answered.append(found)
        lane = f"tip:{answered[0].id}"
        reachable: list[tuple[Tip, Resident]] = []
        for each in answered:
            await tx.audit("tip.reply", actor_id=officer_id, tip_id=each.id)
            resident = await tx.residents.get(each.resident_id) if each.resident_id else None
            if resident is not None:
                reachable.append((each, resident))
                continue
            # Erased (/deleteme), or detached after the retention period (bot/retention.py).
            gone = (
                N_("relay.detached") if each.detached == "retention" else N_("relay.resident_gone")
            )
            await tx.outbox.enqueue(
                NewDelivery(
                    kind="officer_notice",
                    chat_id=officers.chat_id,
                    lane=lane,
                    priority=PRIORITY_NOTICE,
                    tip_id=each.id,
                    payload=_notice(officers, each.id, gone, source_message_id),
                )
            )
        if not reachable:
            return Outcome.RESIDENT_GONE
        actor = desk.Actor(officer_id, officer_name)
        await desk.first_answer(tx, officers, [each for each, _ in reachable], actor)
        # One 👍 for the officer's message, however many residents it reaches.
        receipt = FollowUp(
            kind="receipt",
            chat_id=officers.chat_id,
            lane=cosmetic_lane(answered[0].id),
            priority=PRIORITY_COSMETIC,
            payload=_reaction(source_message_id, DELIVERED_REACTION),
            dedupe_key=f"receipt:{officers.chat_id}:{source_message_id}",
        )
        for each, resident in reachable:
            body = said
            if in_language is not None:
                body = Said(kind="text", text=in_language(resident.language))
            header = translate(resident.language, "relay.officer_reply", ref=each.id)
            blocked = _officer_notice(officers, each.id, "relay.blocked", source_message_id)
            failed = _officer_notice(
                officers, each.id, "relay.failed", source_message_id, reason=True
            )
            await tx.outbox.enqueue(
                NewDelivery(
                    kind="relay",
                    chat_id=resident.user_id,
                    priority=PRIORITY_RELAY,
                    tip_id=each.id,
                    payload=Payload(
                        contents=tuple(content.with_header(body.body(), header)),
                        link=JoinThread(each.id, "relayed"),
                        then=(receipt,),
                        on_unreachable=(blocked,),
                        on_failed=(failed,),
                    ),
                )
            )
    return Outcome.QUEUED


async def save_note(
    store: Store,
    officers: OfficerChat,
    *,
    tip_id: int,
    officer_id: int,
    text: str,
    source_message_id: int,
) -> Outcome:
    """An internal note: stored on the tip, acknowledged with a reaction, never relayed."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return Outcome.NO_TIP
        said = Said(kind="text", text=text)
        if not await _record(
            tx, tip, "note", said, officers.chat_id, source_message_id, officer_id
        ):
            return Outcome.DUPLICATE
        await tx.tips.link(officers.chat_id, [source_message_id], tip.id, "note")
        await tx.audit("tip.note", actor_id=officer_id, tip_id=tip.id)
        await tx.outbox.enqueue(
            NewDelivery(
                kind="receipt",
                chat_id=officers.chat_id,
                lane=cosmetic_lane(tip.id),
                priority=PRIORITY_COSMETIC,
                tip_id=tip.id,
                payload=_reaction(source_message_id, NOTE_REACTION),
            )
        )
    return Outcome.QUEUED


async def add_followup(
    store: Store,
    officers: OfficerChat,
    *,
    tip_id: int,
    resident_id: int,
    said: Said,
    source_message_id: int,
) -> Outcome:
    """A resident's later message on their own tip, threaded under the tip's card (refused
    while the resident is blocked: nothing is stored, nothing reaches officers)."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None or tip.resident_id != resident_id:
            return Outcome.NOT_YOURS
        if await tx.blocks.get(resident_id) is not None:
            return Outcome.BLOCKED
        if not await _record(tx, tip, "resident", said, resident_id, source_message_id, None):
            return Outcome.DUPLICATE
        await tx.tips.link(resident_id, [source_message_id], tip.id, "followup")
        header = translate(officers.language, "followup.header", ref=tip.id)
        card = tip  # a merged tip's follow-ups go to its primary's thread (bot/merge.py)
        if tip.merged_into is not None:
            card = await tx.tips.get(tip.merged_into) or tip
            header = translate(
                officers.language, "followup.header_merged", ref=tip.id, into=card.id
            )
        await tx.outbox.enqueue(
            NewDelivery(
                kind="followup",
                chat_id=officers.chat_id,
                lane=f"tip:{card.id}",
                priority=min(tip_priority(tip), tip_priority(card)),
                tip_id=tip.id,
                payload=Payload(
                    contents=tuple(content.with_header(said.body(), header)),
                    reply_to_card=card.id,
                    link=JoinThread(tip.id, "followup"),
                ),
            )
        )
    return Outcome.QUEUED


async def _record(
    tx: Tx,
    tip: Tip,
    author: str,
    said: Said,
    chat_id: int,
    message_id: int,
    officer_id: int | None,
) -> bool:
    _, created = await tx.tips.add_message(
        NewTipMessage(
            tip_id=tip.id,
            author=author,
            kind=said.kind,
            source_chat_id=chat_id,
            source_message_id=message_id,
            text=said.text,
            file_id=said.file_id,
            latitude=said.latitude,
            longitude=said.longitude,
            officer_id=officer_id,
        )
    )
    return created
