"""The bot's own settings: getMe, webhook, commands, descriptions and names."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable

from .errors import _as_int, bad_request
from .updates import DEFAULT_ALLOWED_UPDATES
from .wire import JSON, Handler, _Upload


class BotMethods:
    """getMe, set/delete/getWebhookInfo, *MyCommands, *MyDescription, *MyName."""

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

    def _m_set_webhook(self, p: JSON, f: dict[str, _Upload]) -> bool:
        url = str(p.get("url") or "")
        if url != self.webhook_url:
            self.webhook_last_error = None  # errors belong to the address they happened at
        self.webhook_url = url
        self.webhook_secret = str(p.get("secret_token") or "")
        self.webhook_max_connections = _as_int(p.get("max_connections", 40), "max_connections")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if isinstance(p.get("allowed_updates"), list):
            self._allowed_updates = frozenset(p["allowed_updates"]) or DEFAULT_ALLOWED_UPDATES
        return True

    def _m_delete_webhook(self, p: JSON, f: dict[str, _Upload]) -> bool:
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_last_error = None
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_get_webhook_info(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        info: JSON = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            # Telegram's field names; the secret itself is never shown.
            info["max_connections"] = self.webhook_max_connections
            info["allowed_updates"] = sorted(self._allowed_updates)
            if self.webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return info

    def webhook_delivery_failed(self, message: str, ago: float = 0.0) -> None:
        """Telegram could not deliver to the webhook `ago` seconds ago, in its own words (e.g.
        "Wrong response from the webhook: 502 Bad Gateway"); the update stays pending."""
        self.webhook_last_error = (int(self.now() - ago), message)

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
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
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
