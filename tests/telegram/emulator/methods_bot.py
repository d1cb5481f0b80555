"""The bot's own settings (the webhook is ``webhook``): getMe, commands, descriptions and names."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable

from .errors import bad_request
from .wire import JSON, Handler, _Upload


class BotMethods:
    """getMe, logOut, close, *MyCommands, *MyDescription, *MyName."""

    def _m_get_me(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        me = self.bot.as_dict()
        me.update(
            {
                "can_join_groups": True,
                "can_read_all_group_messages": not self.privacy_mode,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
                "has_topics_enabled": False,
                "allows_users_to_create_topics": False,
            }
        )
        return me

    def _m_set_commands(self, p: JSON, f: dict[str, _Upload]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("too many commands")
        clean = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("BOT_COMMAND_INVALID")
            command = str(item.get("command", "")).removeprefix("/")
            description = str(item.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": command, "description": description})
        key = self._commands_key(p)
        if clean:
            self.commands[key] = clean
        else:
            self.commands.pop(key, None)
        self._changed()
        return True

    def _commands_key(self, p: JSON) -> tuple[str, str]:
        scope = p.get("scope")
        if isinstance(scope, dict) and scope.get("chat_id") is not None:
            self._resolve_chat(scope["chat_id"])
        return _scope_key(scope if isinstance(scope, dict) else None), str(
            p.get("language_code") or ""
        )

    def _m_get_commands(self, p: JSON, f: dict[str, _Upload]) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(p), []))

    def _m_delete_commands(self, p: JSON, f: dict[str, _Upload]) -> bool:
        self.commands.pop(self._commands_key(p), None)
        self._changed()
        return True

    def _m_set_description(self, key: str) -> Callable[[JSON, dict[str, _Upload]], bool]:
        def setter(p: JSON, f: dict[str, _Upload]) -> bool:
            value = str(p.get(key) or "")
            limit = {"description": 512, "short_description": 120, "name": 64}[key]
            if len(value) > limit:
                raise bad_request(f"{key.upper()}_INVALID")
            self.descriptions[(key, str(p.get("language_code") or ""))] = value
            self._changed()
            return True

        return setter

    def _m_get_description(self, key: str) -> Callable[[JSON, dict[str, _Upload]], JSON]:
        def getter(p: JSON, f: dict[str, _Upload]) -> JSON:
            lang = str(p.get("language_code") or "")
            value = self.descriptions.get((key, lang), "")
            if key == "name" and not value:
                value = self.bot.first_name
            return {key: value}

        return getter

    def _api_bot(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "getMe": self._m_get_me,
            "logOut": lambda p, f: True,
            "close": lambda p, f: True,
            "setMyCommands": self._m_set_commands,
            "getMyCommands": self._m_get_commands,
            "deleteMyCommands": self._m_delete_commands,
            "setMyDescription": self._m_set_description("description"),
            "setMyShortDescription": self._m_set_description("short_description"),
            "setMyName": self._m_set_description("name"),
            "getMyDescription": self._m_get_description("description"),
            "getMyShortDescription": self._m_get_description("short_description"),
            "getMyName": self._m_get_description("name"),
            "setChatMenuButton": lambda p, f: True,
        }
        return table


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)
