"""Canned replies: officers' templates, one text per language, sent like any officer reply.

`/canned add name | English | Spanish` keeps a template (Spanish optional: residents who read
Spanish then get the English text); `/r name`, as a reply on a tip's thread, sends it in the
resident's language through bot/relay.py relay_officer_reply, so the delivery receipt, the
notes on failure and the audit are exactly those of a typed reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import relay
from bot.relay import Outcome, Said
from bot.tips import OfficerChat
from storage import Store
from storage.models import Canned

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
TEXT_LIMIT = 3500  # room for the reply's header within Telegram's 4096


@dataclass(frozen=True)
class NewCanned:
    name: str
    english: str
    spanish: str | None


def parse_add(arguments: str) -> NewCanned | None:
    """`name | English text | Spanish text` (Spanish optional); None when malformed."""
    parts = [part.strip() for part in arguments.split("|")]
    if len(parts) not in (2, 3):
        return None
    name = parts[0].lower()
    english = parts[1]
    spanish = parts[2] if len(parts) == 3 and parts[2] else None
    if not NAME.fullmatch(name) or not english:
        return None
    if len(english) > TEXT_LIMIT or len(spanish or "") > TEXT_LIMIT:
        return None
    return NewCanned(name, english, spanish)


def normal_name(raw: str) -> str | None:
    name = raw.strip().lower()
    return name if NAME.fullmatch(name) else None


async def save(store: Store, new: NewCanned, *, officer_id: int) -> bool:
    """Add or replace a template; True when it is new. Audited."""
    async with store.transaction() as tx:
        created = await tx.canned.put(new.name, new.english, new.spanish, officer_id)
        await tx.audit("canned.saved", actor_id=officer_id, tip_id=None, detail=new.name)
    return created


async def remove(store: Store, name: str, *, officer_id: int) -> bool:
    async with store.transaction() as tx:
        removed = await tx.canned.remove(name)
        if removed:
            await tx.audit("canned.removed", actor_id=officer_id, tip_id=None, detail=name)
    return removed


async def listing(store: Store) -> list[Canned]:
    async with store.read() as tx:
        return await tx.canned.all()


async def send(
    store: Store,
    officers: OfficerChat,
    *,
    tip_id: int,
    name: str,
    officer_id: int,
    officer_name: str,
    source_message_id: int,
    whole_group: bool = True,
) -> Outcome | None:
    """Send template `name` to the resident of `tip_id` in their language, as an officer
    reply (to every resident of a merged group, each in their own language, unless
    `whole_group` is False); None when there is no such template."""
    async with store.read() as tx:
        template = await tx.canned.get(name)
        tip = await tx.tips.get(tip_id)
        resident = await tx.residents.get(tip.resident_id) if tip and tip.resident_id else None
    if template is None:
        return None
    language = resident.language if resident else (tip.language if tip else officers.language)
    return await relay.relay_officer_reply(
        store,
        officers,
        tip_id=tip_id,
        officer_id=officer_id,
        officer_name=officer_name,
        said=Said(kind="text", text=template.text(language)),
        source_message_id=source_message_id,
        whole_group=whole_group,
        in_language=template.text,
    )
