"""Outbox payloads exactly as the version before the typed payload wrote them (dumped from a
real database it filled), for the tests that read rows written before an upgrade."""

from __future__ import annotations

import json

# Written by the previous version (its bot.tips.card_delivery and bot.relay, dumped from a
# real database): a card with its thread, an officer's reply with its outcomes, a follow-up.
OLD_CARD = (
    '{"contents": [{"type": "text", "html": "<b>Tip #1</b> \u00b7 Suspicious vehicle"}],'
    ' "link": {"tip_id": 1, "role": "card"}, "set_card": true, "then": ['
    '{"kind": "tip_thread", "reply_to_parent": true, "payload": {"contents": [{"type":'
    ' "location", "latitude": 1.5, "longitude": 2.5}], "link": {"tip_id": 1, "role": "card"}}},'
    ' {"kind": "tip_thread", "reply_to_parent": true, "payload": {"contents": [{"type": "album",'
    ' "items": [{"type": "photo", "file_id": "P1"}, {"type": "photo", "file_id": "P2"}]}],'
    ' "link": {"tip_id": 1, "role": "card"}}}]}'
)


def old_relay(tip_id: int, officer_chat: int, officer_message: int) -> str:
    def notice(text: str, reason: bool) -> str:
        return (
            f'{{"kind": "officer_notice", "chat_id": {officer_chat}, "lane": "tip:{tip_id}",'
            f' "priority": 30, "append_reason": {json.dumps(reason)}, "payload": {{"contents":'
            f' [{{"type": "text", "html": "{text}"}}], "link": {{"tip_id": {tip_id}, "role":'
            f' "notice"}}, "reply_to": {officer_message}}}}}'
        )

    return (
        f'{{"contents": [{{"type": "text", "html": "<b>Officer reply on tip #{tip_id}:</b>\\n'
        f'We are on it"}}], "link": {{"tip_id": {tip_id}, "role": "relayed"}}, "then":'
        f' [{{"kind": "receipt", "chat_id": {officer_chat}, "lane": "react:tip:{tip_id}",'
        f' "priority": 200, "payload": {{"contents": [{{"type": "reaction", "message_id":'
        f' {officer_message}, "emoji": "\U0001f44d"}}]}}}}], "on_unreachable": ['
        + notice("blocked", False)
        + '], "on_failed": ['
        + notice("failed", True)
        + "]}"
    )


OLD_FOLLOWUP = (
    '{"contents": [{"type": "photo", "file_id": "P3", "caption": "more"}],'
    ' "reply_to_card": 1, "link": {"tip_id": 1, "role": "followup"}}'
)
