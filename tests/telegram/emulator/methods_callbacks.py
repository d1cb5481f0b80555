"""Answers to button taps (with Telegram's 15-second window) and message reactions."""

from __future__ import annotations

import copy

from telegram.constants import ReactionEmoji

from .errors import QUERY_TOO_OLD, bad_request
from .observation import CallbackAnswer
from .wire import JSON, Handler, _Upload

_REACTION_EMOJI = frozenset(e.value for e in ReactionEmoji)


class CallbackMethods:
    """answerCallbackQuery and setMessageReaction."""

    def _m_answer_callback(self, p: JSON, f: dict[str, _Upload]) -> bool:
        qid = str(p.get("callback_query_id") or "")
        query = self._queries.get(qid)
        if query is None or qid in self.callback_answers:
            raise bad_request(QUERY_TOO_OLD)
        if (
            self.callback_answer_timeout is not None
            and self.clock() - query.created > self.callback_answer_timeout
        ):
            raise bad_request(QUERY_TOO_OLD)
        text = p.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[qid] = CallbackAnswer(
            text=None if text in (None, "") else str(text),
            show_alert=bool(p.get("show_alert")),
            url=p.get("url"),
            cache_time=p.get("cache_time"),
        )
        return True

    def _m_set_reaction(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        msg = self._find_message(chat, p, "message to react not found")
        reaction = p.get("reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("REACTION_INVALID")
        if msg.is_service:
            raise bad_request("REACTION_INVALID")
        for item in reaction:
            if not isinstance(item, dict):
                raise bad_request("REACTION_INVALID")
            if item.get("type") == "emoji" and item.get("emoji") not in _REACTION_EMOJI:
                raise bad_request("REACTION_INVALID")
            if item.get("type") not in ("emoji", "custom_emoji"):
                raise bad_request("REACTION_INVALID")
        if len(reaction) > 1:
            raise bad_request("REACTIONS_TOO_MANY")
        self.reactions[(chat.id, msg.message_id)] = copy.deepcopy(reaction)
        self._changed()
        return True

    def _api_callbacks(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "answerCallbackQuery": self._m_answer_callback,
            "setMessageReaction": self._m_set_reaction,
        }
        return table
