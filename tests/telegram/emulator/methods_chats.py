"""Chats and members: getChat, members and admins, leaving, bans, invite links, actions."""

from __future__ import annotations

from .errors import _as_int, bad_request
from .wire import JSON, Handler, _Upload
from .world import DEFAULT_PERMISSIONS, Chat, Member


class ChatMethods:
    """getChat*, leaveChat, ban/unbanChatMember, invite links, sendChatAction."""

    def _m_get_chat(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        chat = self._readable_chat(p.get("chat_id"))
        info = chat.short()
        info.update(
            {
                "accent_color_id": abs(chat.id) % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        if not chat.is_private:
            info["permissions"] = dict(DEFAULT_PERMISSIONS)
            pinned = self.pinned(chat.id)
            live = [m for m in pinned if not m.deleted]
            if live:
                info["pinned_message"] = live[-1].to_json(with_reply=False)
        return info

    def _m_get_chat_member(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        chat = self._readable_chat(p.get("chat_id"))
        uid = _as_int(p.get("user_id"), "user_id")
        if uid == self.bot.id:
            status = "member" if chat.is_private else chat.bot_status
            return self._member_json(chat, self.bot.as_dict(), Member(status, chat.bot_rights))
        user = self.users.get(uid)
        if user is None:
            raise bad_request("user not found")
        if chat.is_private:
            member = Member("member" if uid == chat.id else "left")
        else:
            member = chat.members.get(uid, Member("left"))
        return self._member_json(chat, user.as_dict(), member)

    def _m_get_admins(self, p: JSON, f: dict[str, _Upload]) -> list[JSON]:
        chat = self._readable_chat(p.get("chat_id"))
        if chat.is_private:
            raise bad_request("there are no administrators in the private chat")
        admins = [
            self._member_json(chat, self.users[uid].as_dict(), m)
            for uid, m in chat.members.items()
            if m.status in ("creator", "administrator") and uid in self.users
        ]
        if chat.bot_status in ("creator", "administrator"):
            admins.append(
                self._member_json(
                    chat, self.bot.as_dict(), Member(chat.bot_status, chat.bot_rights)
                )
            )
        return admins

    def _m_member_count(self, p: JSON, f: dict[str, _Upload]) -> int:
        chat = self._readable_chat(p.get("chat_id"))
        if chat.is_private:
            return 2
        present = [
            m
            for m in chat.members.values()
            if m.status in ("creator", "administrator", "member")
            or (m.status == "restricted" and m.rights.get("is_member", True))
        ]
        return len(present) + (0 if chat.bot_status in ("left", "kicked") else 1)

    def _member_json(self, chat: Chat, user: JSON, member: Member) -> JSON:
        status = member.status
        data: JSON = {"status": status, "user": user}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                }
            )
            if chat.type == "supergroup":
                data["can_manage_topics"] = True
        elif status == "restricted":
            data.update(
                {
                    "is_member": True,
                    **DEFAULT_PERMISSIONS,
                    "can_edit_tag": False,
                    "can_react_to_messages": True,
                    "until_date": 0,
                }
            )
        elif status == "kicked":
            data["until_date"] = 0
        data.update({k: v for k, v in member.rights.items() if k not in ("status", "user")})
        return data

    def _m_leave_chat(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if chat.is_private:
            raise bad_request("chat member status can't be changed in private chats")
        old = Member(chat.bot_status, dict(chat.bot_rights))
        chat.bot_status = "left"
        chat.bot_rights = {}
        self._emit_my_member(chat, self.bot.as_dict(), old, Member("left"))
        return True

    def _m_chat_action(self, p: JSON, f: dict[str, _Upload]) -> bool:
        self._writable_chat(p)
        if not p.get("action"):
            raise bad_request("action is empty")
        return True

    def _m_ban(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        if chat.is_private:
            raise bad_request("chat member status can't be changed in private chats")
        if not self._bot_right(chat, "can_restrict_members"):
            raise bad_request("not enough rights to restrict/unrestrict chat member")
        uid = _as_int(p.get("user_id"), "user_id")
        if uid not in self.users:
            raise bad_request("user not found")
        if chat.members.get(uid, Member("left")).status == "creator":
            raise bad_request("can't remove chat owner")
        self.set_member(chat.id, uid, "kicked", actor=self.bot)
        return True

    def _m_unban(self, p: JSON, f: dict[str, _Upload]) -> bool:
        chat = self._readable_chat(p.get("chat_id"))
        uid = _as_int(p.get("user_id"), "user_id")
        current = chat.members.get(uid)
        banned = current is not None and current.status == "kicked"
        unban_anyway = (
            current is not None and not p.get("only_if_banned") and current.status != "creator"
        )
        if banned or unban_anyway:
            self.set_member(chat.id, uid, "left", actor=self.bot)
        return True

    def _m_create_invite(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        chat = self._readable_chat(p.get("chat_id"))
        if not self._bot_right(chat, "can_invite_users"):
            raise bad_request("not enough rights to manage chat invite link")
        link: JSON = {
            "invite_link": f"https://t.me/+EMU{abs(chat.id)}x{next(self._file_ids)}",
            "creator": self.bot.as_dict(),
            "creates_join_request": bool(p.get("creates_join_request")),
            "is_primary": False,
            "is_revoked": False,
        }
        for key in ("name", "expire_date", "member_limit"):
            if p.get(key) not in (None, ""):
                link[key] = p[key]
        return link

    def _m_export_invite(self, p: JSON, f: dict[str, _Upload]) -> str:
        chat = self._readable_chat(p.get("chat_id"))
        return f"https://t.me/+EMU{abs(chat.id)}primary"

    def _api_chats(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "getChat": self._m_get_chat,
            "getChatMember": self._m_get_chat_member,
            "getChatAdministrators": self._m_get_admins,
            "getChatMemberCount": self._m_member_count,
            "leaveChat": self._m_leave_chat,
            "sendChatAction": self._m_chat_action,
            "banChatMember": self._m_ban,
            "unbanChatMember": self._m_unban,
            "createChatInviteLink": self._m_create_invite,
            "exportChatInviteLink": self._m_export_invite,
        }
        return table
