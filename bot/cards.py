"""The officers' card of a tip: its text in the officer chat's language (escaped user text, the
desk's status and buttons, a duplicate hint), and the outbox delivery that posts it — with its
media, its forum topic and its pin. Filing a tip is bot.tips; pressing the buttons is bot.desk."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import TYPE_CHECKING

from babel.dates import format_datetime, format_timedelta

from bot import callbacks as cb
from bot import content, duplicates, forum
from bot.categories import CATEGORIES
from bot.i18n import LANGUAGE_NAMES, N_, plain, translate
from storage.models import CLOSED, Broadcast, Tip
from storage.outbox import PRIORITY_TIP, PRIORITY_URGENT, NewDelivery
from storage.payload import FollowUp, JoinThread, Payload

if TYPE_CHECKING:
    from bot.tips import OfficerChat


def duplicate_line(tip: Tip, lang: str) -> str:
    """ "Possibly the same as #41", and why (bot/duplicates.py)."""
    reason = duplicates.Resemblance(tip.duplicate_of or 0, tip.duplicate_reason or "place")
    if reason.code == "pin":
        return translate(lang, "card.duplicate_pin", ref=reason.tip_id, metres=reason.detail)
    if reason.code == "plate":
        return translate(lang, "card.duplicate_plate", ref=reason.tip_id, plate=reason.detail)
    return translate(lang, "card.duplicate_place", ref=reason.tip_id)


def card_texts(
    tip: Tip, officers: OfficerChat, alert: Broadcast | None = None, *, in_topic: bool = False
) -> list[str]:
    """The card's HTML, split when the description is too long for one message.

    Built from the tip's officer view: the resident appears only by the name they chose to
    share, never by id or username. In the tip's own forum topic the hint says to write there.
    """
    lang = officers.language
    lines = []
    if tip.urgent:
        lines.append(translate(lang, "card.urgent"))
    category = translate(lang, CATEGORIES.get(tip.category, CATEGORIES["other"]))
    lines.append(translate(lang, "card.title", ref=tip.id, category=category))
    if tip.place:
        lines.append(translate(lang, "card.where", place=tip.place))
    elif tip.has_location:
        lines.append(translate(lang, "card.where_pin"))
    else:
        lines.append(translate(lang, "card.where_unknown"))
    when = format_datetime(tip.created_at, "d MMM y, HH:mm", tzinfo=officers.zone, locale=lang)
    lines.append(translate(lang, "card.when", when=when, zone=officers.zone.key))
    if tip.detached == "erased":
        lines.append(translate(lang, "card.from_erased"))
    elif tip.detached == "retention":
        lines.append(translate(lang, "card.from_detached"))
    elif tip.anonymous or not tip.reporter_name:
        lines.append(translate(lang, "card.from_anonymous"))
    else:
        lines.append(translate(lang, "card.from_named", name=tip.reporter_name))
    language = LANGUAGE_NAMES.get(tip.language, tip.language)
    lines.append(translate(lang, "card.language", name=language))
    if tip.media:
        lines.append(translate(lang, "card.attachments", count=len(tip.media)))
    if alert is not None:
        snippet = (alert.text or "")[:80] + ("…" if len(alert.text or "") > 80 else "")
        lines.append(translate(lang, "card.in_response", ref=alert.id, text=snippet))
    if tip.merged_into is not None:
        lines.append(
            translate(
                lang, "card.merged_into", into=tip.merged_into, name=tip.merged_by_name or "?"
            )
        )
    elif tip.duplicate_of is not None:
        lines.append(duplicate_line(tip, lang))
    if tip.merged_tips:
        lines.append(translate(lang, "card.also", refs=", ".join(f"#{i}" for i in tip.merged_tips)))
    lines.extend(desk_lines(tip, officers))
    grouped = tip.merged_into is not None or bool(tip.merged_tips)
    hint = N_("card.reply_hint_group") if grouped else N_("card.reply_hint")
    lines.append(translate(lang, N_("card.topic_hint") if in_topic else hint))
    header = "\n".join(lines)
    description = tip.description or translate(lang, "card.no_description")
    whole = header + "\n\n" + html.escape(description, quote=False)
    if content.visible_length(whole) <= content.TEXT_LIMIT:
        return [whole]
    # Too long beside the header: the description follows whole, as typed, under the card
    # (split only if it alone exceeds Telegram's limit, which a single message cannot).
    pieces = content.split_plain(description, content.TEXT_LIMIT)
    below = header + "\n\n" + translate(lang, "card.description_below")
    return [below, *(html.escape(piece, quote=False) for piece in pieces)]


DESK_STATUS = {
    "new": N_("card.status_new"),
    "acknowledged": N_("card.status_acknowledged"),
    "taken": N_("card.status_taken"),
    "resolved": N_("card.status_resolved"),
    "spam": N_("card.status_spam"),
}


def desk_lines(tip: Tip, officers: OfficerChat) -> list[str]:
    """The card's desk state: status and by whom (officers' first names: officer chat only),
    the time to the first answer, the resident's rating and comment."""
    lang = officers.language
    key = DESK_STATUS.get(tip.status, DESK_STATUS["new"])
    who = tip.assignee_name if tip.status == "taken" else tip.status_by_name
    # A merged tip's status is its primary's, shown there: a desk move edits one card.
    merged = tip.merged_into is not None
    lines = [] if merged else [translate(lang, key, name=who or "?")]
    if tip.first_answer_at is not None and not merged:
        delta = max(tip.first_answer_at - tip.created_at, timedelta(0))
        duration = format_timedelta(delta, threshold=1.1, locale=lang)
        lines.append(translate(lang, "card.first_answer", duration=duration))
    if tip.rating is not None:
        lines.append(translate(lang, "card.rating", stars=tip.rating))
        if tip.rating_comment:
            lines.append(translate(lang, "card.rating_comment", comment=tip.rating_comment))
    return lines


DESK_BUTTONS = {
    "new": (("ack", "take"), ("resolve", "spam")),
    "acknowledged": (("take",), ("resolve", "spam")),
    "taken": (("resolve", "spam"),),
    "resolved": (("reopen",),),
    "spam": (("reopen",),),
}


def desk_buttons(tip: Tip, officers: OfficerChat) -> list[list[tuple[str, str]]]:
    """The triage buttons the tip's status allows; Merge while it and its hint are open; a
    merged tip has only Unmerge (its primary's card triages the group, bot/merge.py)."""
    lang = officers.language
    if tip.merged_into is not None:
        return [[(plain(lang, "desk.button_unmerge"), cb.UNMERGE.build(cb.Ref(tip.id)))]]
    rows: list[list[tuple[str, str]]] = [
        [
            (plain(lang, f"desk.button_{action}"), cb.DESK.build(cb.ChoiceRef(action, tip.id)))
            for action in row
        ]
        for row in DESK_BUTTONS.get(tip.status, DESK_BUTTONS["new"])
    ]
    hint, hint_status = tip.duplicate_of, tip.duplicate_status
    if hint is not None and tip.is_open and hint_status is not None and hint_status not in CLOSED:
        label = plain(lang, "desk.button_merge", ref=hint)
        rows.append([(label, cb.MERGE.build(cb.MergeInto(tip.id, hint)))])
    return rows


def card_content(
    tip: Tip, officers: OfficerChat, alert: Broadcast | None = None, *, in_topic: bool | None = None
) -> content.Content:
    """The card's first message as it is now, buttons included (sent, or edited in place: in
    the tip's topic when it has one)."""
    if in_topic is None:
        in_topic = officers.forum.on and tip.topic_id is not None
    texts = card_texts(tip, officers, alert, in_topic=in_topic)
    return content.text(texts[0], desk_buttons(tip, officers))


def tip_priority(tip: Tip) -> int:
    """Urgent tips and everything on their thread go before the rest."""
    return PRIORITY_URGENT if tip.urgent else PRIORITY_TIP


def card_delivery(
    tip: Tip,
    officers: OfficerChat,
    alert: Broadcast | None = None,
    *,
    priority: int | None = None,
    dedupe_key: str | None = None,
) -> NewDelivery:
    """The card row; its location pin and media follow it as replies once it is sent. In a
    forum the row first opens the tip's topic (bot/forum.py), and everything goes there."""
    in_topic = officers.forum.on and tip.topic_state != "unknown"
    texts = card_texts(tip, officers, alert, in_topic=in_topic)
    lane = f"tip:{tip.id}"
    priority = tip_priority(tip) if priority is None else priority
    link = JoinThread(tip.id, "card")
    thread: list[content.Content] = [content.text(t) for t in texts[1:]]
    if tip.has_location:
        thread.append({"type": "location", "latitude": tip.latitude, "longitude": tip.longitude})
    thread.extend(
        content.media_batches([{"type": m.kind, "file_id": m.file_id} for m in tip.media])
    )
    then = tuple(
        FollowUp(kind="tip_thread", reply_to_parent=True, payload=Payload((part,), link=link))
        for part in thread
    )
    return NewDelivery(
        kind="tip_card",
        chat_id=officers.chat_id,
        lane=lane,
        priority=priority,
        tip_id=tip.id,
        dedupe_key=dedupe_key,
        payload=Payload(
            (
                *([forum.topic_step(tip.id)] if in_topic else []),
                card_content(tip, officers, alert, in_topic=in_topic),
            ),
            link=link,
            set_card=True,
            then=then,
        ),
    )
