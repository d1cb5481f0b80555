"""Officers' desk tools: /block and /unblock the resident behind a tip, canned replies.

Every command here is officer-only (the gate, handlers/gate.py, admits the sender first).
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import Application, CommandHandler
from telegram.ext import filters as f

from bot import blocks, canned
from bot.blocks import BlockOutcome
from handlers.common import Context, parse_ref
from handlers.officers import officer_t, tip_of

BLOCK_ANSWERS = {
    BlockOutcome.BLOCKED: "block.done",
    BlockOutcome.ALREADY_BLOCKED: "block.already",
    BlockOutcome.UNBLOCKED: "unblock.done",
    BlockOutcome.NOT_BLOCKED: "unblock.not_blocked",
    BlockOutcome.NO_TIP: "block.no_tip",
    BlockOutcome.RESIDENT_GONE: "block.resident_gone",
    BlockOutcome.DETACHED: "block.detached",
}
SNIPPET = 80


def _arguments(message: Message) -> str:
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


async def _replied_link(context: Context, message: Message) -> tuple[int, str] | None:
    """(tip, role) of the thread message `message` replies to, or of the forum topic it is
    written in (a note is officers' own: no tip)."""
    found = await tip_of(context, message)
    return found if found is not None and found[1] != "note" else None


async def _replied_tip(context: Context, message: Message) -> int | None:
    """The tip whose thread `message` replies to, or whose forum topic it is written in."""
    found = await _replied_link(context, message)
    return found[0] if found is not None else None


async def on_block(update: Update, context: Context) -> None:
    """`/block #42 [reason]`, or `/block [reason]` as a reply on a tip's thread."""
    message, officer = update.effective_message, context.officer
    if message is None or officer is None:
        return
    first, _, rest = _arguments(message).partition(" ")
    tip_id = parse_ref(first)
    reason = rest if tip_id is not None else _arguments(message)
    if tip_id is None:
        tip_id = await _replied_tip(context, message)
    if tip_id is None:
        await message.reply_html(officer_t(context, "block.usage"))
        return
    outcome = await blocks.block(
        context.porch.store, tip_id=tip_id, officer_id=officer.id, reason=reason
    )
    text = officer_t(context, BLOCK_ANSWERS[outcome], ref=tip_id)
    if outcome is BlockOutcome.BLOCKED and reason.strip():
        text += "\n" + officer_t(context, "block.reason", reason=reason.strip()[:200])
    await message.reply_html(text)


async def on_unblock(update: Update, context: Context) -> None:
    message, officer = update.effective_message, context.officer
    if message is None or officer is None:
        return
    tip_id = parse_ref(_arguments(message).split(" ", 1)[0]) or await _replied_tip(context, message)
    if tip_id is None:
        await message.reply_html(officer_t(context, "unblock.usage"))
        return
    outcome = await blocks.unblock(context.porch.store, tip_id=tip_id, officer_id=officer.id)
    await message.reply_html(officer_t(context, BLOCK_ANSWERS[outcome], ref=tip_id))


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SNIPPET else line[: SNIPPET - 1] + "…"


async def canned_list(context: Context) -> str:
    templates = await canned.listing(context.porch.store)
    if not templates:
        return officer_t(context, "canned.none") + "\n\n" + officer_t(context, "canned.usage")
    lines = [officer_t(context, "canned.list_title")]
    for template in templates:
        lines.append(
            officer_t(
                context, "canned.item", name=template.name, english=_short(template.texts["en"])
            )
        )
        spanish = template.texts.get("es")
        lines.append(
            officer_t(context, "canned.item_es", spanish=_short(spanish))
            if spanish
            else officer_t(context, "canned.item_no_es")
        )
    return "\n".join(lines) + "\n\n" + officer_t(context, "canned.usage")


async def on_canned(update: Update, context: Context) -> None:
    """`/canned`, `/canned add name | English | Spanish`, `/canned remove name`."""
    message, officer = update.effective_message, context.officer
    if message is None or officer is None:
        return
    store = context.porch.store
    verb, _, rest = _arguments(message).partition(" ")
    verb = verb.lower()
    if verb == "add":
        new = canned.parse_add(rest)
        if new is None:
            await message.reply_html(
                officer_t(context, "canned.add_usage", limit=canned.TEXT_LIMIT)
            )
            return
        created = await canned.save(store, new, officer_id=officer.id)
        key = "canned.saved" if created else "canned.replaced"
        await message.reply_html(officer_t(context, key, name=new.name))
        return
    if verb == "remove":
        name = canned.normal_name(rest)
        removed = name is not None and await canned.remove(store, name, officer_id=officer.id)
        key = "canned.removed" if removed else "canned.not_found"
        await message.reply_html(officer_t(context, key, name=rest.strip()[:40]))
        return
    await message.reply_html(await canned_list(context))


async def on_canned_reply(update: Update, context: Context) -> None:
    """`/r name` as a reply on a tip's thread: the template, in the resident's language."""
    message, officer = update.effective_message, context.officer
    if message is None or officer is None:
        return
    found = await _replied_link(context, message)
    if found is None:
        await message.reply_html(officer_t(context, "canned.r_usage"))
        return
    raw = _arguments(message)
    name = canned.normal_name(raw)
    porch = context.porch
    outcome = None
    if name is not None:
        outcome = await canned.send(
            porch.store,
            porch.officers,
            tip_id=found[0],
            name=name,
            officer_id=officer.id,
            officer_name=officer.first_name,
            source_message_id=message.message_id,
            whole_group=found[1] != "followup",  # as a typed reply (handlers/officers.py)
        )
    if outcome is None:  # no such template: say so, with the list
        unknown = officer_t(context, "canned.unknown", name=raw[:40]) if raw else ""
        listing = await canned_list(context)
        await message.reply_html((unknown + "\n\n" if unknown else "") + listing)


def register(app: Application, officer_chat_id: int) -> None:
    officer_chat = f.Chat(officer_chat_id)
    app.add_handler(CommandHandler("block", on_block, filters=officer_chat))
    app.add_handler(CommandHandler("unblock", on_unblock, filters=officer_chat))
    app.add_handler(CommandHandler("canned", on_canned, filters=officer_chat))
    app.add_handler(CommandHandler("r", on_canned_reply, filters=officer_chat))
