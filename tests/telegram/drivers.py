"""Story-level drivers over :mod:`tests.telegram.emulator`.

Why: bot tests should read like what people do ("alice says …, the officer taps …") and not
like Bot API plumbing. Every action enqueues what a human would cause and then awaits the
harness's ``settle()`` so the bot has processed it before the test looks at the outcome.

These drivers know nothing about the bot's code (no imports from ``bot/`` or ``handlers/``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .emulator import BotApiEmulator, CallbackAnswer, EmuMessage, User

Settle = Callable[[], Awaitable[None]]
MessageRef = EmuMessage | int


class Person:
    """A human with a Telegram account, acting in one chat (their private chat by default)."""

    def __init__(
        self,
        emu: BotApiEmulator,
        user: User,
        settle: Settle,
        chat_id: int | None = None,
        topic: int | None = None,
    ) -> None:
        self.emu = emu
        self.user = user
        self.settle = settle
        self._chat_id = chat_id
        self.topic = topic  # the forum topic this person writes in (None: General, or no forum)
        self.taps_made: list[str] = []  # callback query ids, oldest first

    # --- identity ---------------------------------------------------------------------------
    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.full_name

    @property
    def chat_id(self) -> int:
        """Where this person's actions happen."""
        return self._chat_id if self._chat_id is not None else self.user.id

    def in_chat(self, chat_id: int) -> Officer:
        """The same person acting in a group chat."""
        return Officer(self.emu, self.user, chat_id, self.settle)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.id}) in {self.chat_id}>"

    # --- sending ----------------------------------------------------------------------------
    async def _send(self, **kwargs: Any) -> EmuMessage:
        msg = self.emu.user_sends(self.user, self._chat_id, message_thread_id=self.topic, **kwargs)
        await self.settle()
        return msg

    def _ref(self, message: MessageRef | None) -> int | None:
        if isinstance(message, EmuMessage):
            if message.chat_id != self.chat_id:
                raise AssertionError(
                    f"message {message.message_id} is in chat {message.chat_id}, "
                    f"not in {self.chat_id} where {self.name} acts"
                )
            return message.message_id
        return message

    async def says(
        self, text: str, *, reply_to: MessageRef | None = None, entities: list[Any] | None = None
    ) -> EmuMessage:
        """Send a text message ("/cmd" gets a bot_command entity)."""
        return await self._send(text=text, reply_to=self._ref(reply_to), entities=entities)

    async def starts(self, payload: str | None = None) -> EmuMessage:
        """Press Start, optionally through a deep link ``?start=payload``."""
        return await self.says("/start" + (f" {payload}" if payload else ""))

    async def sends_photo(
        self, caption: str | None = None, *, reply_to: MessageRef | None = None
    ) -> EmuMessage:
        return await self._send(photo=True, caption=caption, reply_to=self._ref(reply_to))

    async def sends_video(
        self, caption: str | None = None, *, reply_to: MessageRef | None = None
    ) -> EmuMessage:
        return await self._send(video=True, caption=caption, reply_to=self._ref(reply_to))

    async def sends_voice(
        self, caption: str | None = None, *, reply_to: MessageRef | None = None
    ) -> EmuMessage:
        return await self._send(voice=True, caption=caption, reply_to=self._ref(reply_to))

    async def sends_audio(self, caption: str | None = None) -> EmuMessage:
        return await self._send(audio=True, caption=caption)

    async def sends_document(
        self,
        caption: str | None = None,
        *,
        file_name: str | None = None,
        reply_to: MessageRef | None = None,
    ) -> EmuMessage:
        return await self._send(
            document=True, caption=caption, file_name=file_name, reply_to=self._ref(reply_to)
        )

    async def sends_animation(self, caption: str | None = None) -> EmuMessage:
        return await self._send(animation=True, caption=caption)

    async def sends_sticker(self) -> EmuMessage:
        return await self._send(sticker=True)

    async def sends_contact(self) -> EmuMessage:
        """Share their own contact card."""
        return await self._send(contact=True)

    async def sends_poll(self) -> EmuMessage:
        return await self._send(poll=True)

    async def sends_album(
        self, n: int = 3, caption: str | None = None, kind: str = "photo"
    ) -> list[EmuMessage]:
        """n media sharing a media_group_id (caption on the first), as one burst."""
        msgs = self.emu.album(self.user, self._chat_id, n=n, caption=caption, kind=kind)
        await self.settle()
        return msgs

    async def shares_location(self, lat: float, lon: float) -> EmuMessage:
        return await self._send(location=(lat, lon))

    async def shares_venue(self, lat: float, lon: float, title: str, address: str) -> EmuMessage:
        return await self._send(venue=(lat, lon, title, address))

    async def forwards(self, text: str, from_user: User | str) -> EmuMessage:
        """Forward someone else's text here (``from_user`` str = a hidden sender's name)."""
        return await self._send(text=text, forward_from=from_user)

    async def replies_to(
        self,
        message: MessageRef,
        text: str | None = None,
        *,
        photo: bool = False,
        document: bool = False,
        voice: bool = False,
        video: bool = False,
        location: tuple[float, float] | None = None,
        caption: str | None = None,
    ) -> EmuMessage:
        """Reply (Telegram's reply feature) to ``message`` with text and/or media."""
        if text is None and not (photo or document or voice or video or location):
            raise ValueError("a reply needs text or some content")
        return await self._send(
            text=text,
            photo=photo,
            document=document,
            voice=voice,
            video=video,
            location=location,
            caption=caption,
            reply_to=self._ref(message),
        )

    async def edits(self, message: MessageRef, text: str) -> EmuMessage:
        """Edit one of their own messages."""
        mid = self._ref(message)
        assert mid is not None
        msg = self.emu.user_edits(self.user, self._chat_id, mid, text)
        await self.settle()
        return msg

    # --- buttons ----------------------------------------------------------------------------
    def _candidates(self, message: MessageRef | None) -> list[EmuMessage]:
        if message is None:
            return list(reversed(self.emu.bot_messages(self.chat_id)))
        if isinstance(message, EmuMessage):
            return [message]
        return [self.emu.message(self.chat_id, message)]

    def find_button(self, text: str, message: MessageRef | None = None) -> tuple[EmuMessage, str]:
        """(message, callback_data) of the newest inline button labelled ``text``.

        Exact label first; otherwise a label containing ``text`` (case-insensitive).
        """
        candidates = self._candidates(message)
        for exact in (True, False):
            for msg in candidates:
                if msg.deleted:
                    continue
                for label, data in msg.buttons:
                    hit = label == text if exact else text.lower() in label.lower()
                    if not hit:
                        continue
                    if data is None or not _is_callback(msg, label):
                        raise AssertionError(f"button {label!r} is not a callback button")
                    return msg, data
        available = [
            f"  {m.message_id}: {[label for label, _ in m.buttons]}"
            for m in candidates[:10]
            if m.buttons
        ]
        listing = "\n".join(available) or "  (no inline buttons)"
        raise AssertionError(
            f"{self.name} sees no button {text!r} in chat {self.chat_id}; available:\n{listing}"
        )

    async def taps(self, text: str, message: MessageRef | None = None) -> str:
        """Press the inline button labelled ``text`` (newest bot message carrying it)."""
        msg, data = self.find_button(text, message)
        return await self.taps_data(msg, data)

    async def taps_data(self, message: MessageRef | None, data: str) -> str:
        """Send arbitrary callback data for ``message`` (forged or stale taps)."""
        mid = message.message_id if isinstance(message, EmuMessage) else message
        chat_id = message.chat_id if isinstance(message, EmuMessage) else self.chat_id
        qid = self.emu.user_taps(self.user, mid, chat_id, data)
        self.taps_made.append(qid)
        await self.settle()
        return qid

    async def sends_report_anonymously(self) -> None:
        """The rest of a report whose description is given: no place, no photos, anonymous,
        Send (the walk most stories take to get a tip to the officers)."""
        await self.taps("Skip")  # where
        await self.taps("Skip")  # photos
        await self.taps("Anonymous (recommended)")
        await self.taps("Send")

    def answer_to(self, query_id: str) -> CallbackAnswer:
        """The bot's answer to one of this person's taps (AssertionError if unanswered)."""
        answer = self.emu.callback_answers.get(query_id)
        if answer is None:
            raise AssertionError(f"the bot never answered callback query {query_id}")
        return answer

    def last_answer(self) -> str | None:
        """Text of the bot's answerCallbackQuery for this person's latest tap."""
        if not self.taps_made:
            raise AssertionError(f"{self.name} has not tapped anything")
        return self.answer_to(self.taps_made[-1]).text

    # --- reading ----------------------------------------------------------------------------
    @property
    def inbox(self) -> list[EmuMessage]:
        """The bot's live messages in this person's private chat."""
        return self.emu.bot_messages(self.user.id)

    def last_message(self) -> EmuMessage:
        """The bot's latest live message in the private chat."""
        inbox = self.inbox
        if not inbox:
            raise AssertionError(f"the bot has not written to {self.name}\n{self.emu.dump()}")
        return inbox[-1]

    # --- relationship with the bot ------------------------------------------------------------
    async def blocks_bot(self) -> None:
        self.emu.block_bot(self.user)
        await self.settle()

    async def unblocks_bot(self) -> None:
        self.emu.unblock_bot(self.user)
        await self.settle()


class Officer(Person):
    """A person acting inside a group chat (e.g. the officers' chat)."""

    def __init__(
        self,
        emu: BotApiEmulator,
        user: User,
        chat_id: int,
        settle: Settle,
        topic: int | None = None,
    ) -> None:
        super().__init__(emu, user, settle, chat_id, topic)

    @property
    def group(self) -> GroupChat:
        return GroupChat(self.emu, self.chat_id)

    def in_topic(self, message_thread_id: int | None) -> Officer:
        """The same person writing in a forum topic (None: the General topic)."""
        return Officer(self.emu, self.user, self.chat_id, self.settle, message_thread_id)

    async def leaves(self) -> None:
        """Leave the group (emits chat_member where the bot is admin)."""
        self.emu.set_member(self.chat_id, self.user, "left")
        await self.settle()

    async def is_removed(self) -> None:
        """An admin removes this person from the group."""
        self.emu.set_member(self.chat_id, self.user, "kicked")
        await self.settle()


class GroupChat:
    """A group as seen by its members: what the bot posted, in order."""

    def __init__(self, emu: BotApiEmulator, chat_id: int) -> None:
        self.emu = emu
        self.id = chat_id
        self._cursor = 0  # highest message_id returned by next_message

    def messages(self) -> list[EmuMessage]:
        return self.emu.messages(self.id)

    def bot_messages(self) -> list[EmuMessage]:
        return self.emu.bot_messages(self.id)

    def last_message(self) -> EmuMessage:
        msgs = self.bot_messages()
        if not msgs:
            raise AssertionError(f"the bot has posted nothing in {self.id}\n{self.emu.dump()}")
        return msgs[-1]

    def pinned(self) -> list[EmuMessage]:
        return self.emu.pinned(self.id)

    # --- forum topics -----------------------------------------------------------------------
    def topics(self) -> dict[int, str]:
        """The forum's topics as members see them: thread id → name (General left out)."""
        return dict(self.emu.chat(self.id).topics)

    def is_closed(self, message_thread_id: int) -> bool:
        return message_thread_id in self.emu.chat(self.id).closed_topics

    def in_topic(self, message_thread_id: int | None) -> list[EmuMessage]:
        """The bot's live messages in a topic (None: the General topic), in order."""
        return [m for m in self.bot_messages() if m.message_thread_id == message_thread_id]

    def skip_existing(self) -> None:
        """Make next_message ignore everything already posted."""
        msgs = self.emu.messages(self.id, include_deleted=True)
        self._cursor = max((m.message_id for m in msgs), default=self._cursor)

    def _peek(self) -> EmuMessage | None:
        for msg in self.bot_messages():
            if msg.message_id > self._cursor:
                return msg
        return None

    async def next_message(self, timeout: float = 5.0) -> EmuMessage:  # noqa: ASYNC109
        """The next bot message not yet returned here (waits for it)."""
        await self.emu.wait_for(
            lambda: self._peek() is not None,
            timeout=timeout,
            what=f"a new bot message in chat {self.id}",
        )
        msg = self._peek()
        assert msg is not None
        self._cursor = msg.message_id
        return msg

    def thread_of(self, message: MessageRef) -> list[EmuMessage]:
        """Bot messages whose reply chain leads back to ``message``."""
        root = message.message_id if isinstance(message, EmuMessage) else message
        chat = self.emu.chat(self.id)
        out = []
        for msg in self.bot_messages():
            seen: set[int] = set()
            parent = msg.reply_to_message_id
            while parent is not None and parent not in seen:
                if parent == root:
                    out.append(msg)
                    break
                seen.add(parent)
                ancestor = chat.messages.get(parent)
                parent = ancestor.reply_to_message_id if ancestor else None
        return out

    def __repr__(self) -> str:
        return f"<GroupChat {self.id}: {len(self.bot_messages())} bot messages>"


def _is_callback(msg: EmuMessage, label: str) -> bool:
    rows = (msg.reply_markup or {}).get("inline_keyboard") or []
    return any(b.get("text") == label and "callback_data" in b for row in rows for b in row)
