"""Sending: text, media, locations, venues, contacts, polls and albums."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import bad_request
from .wire import JSON, Handler, _Upload

_SEND_MEDIA_METHODS = {
    "sendPhoto": "photo",
    "sendVideo": "video",
    "sendVoice": "voice",
    "sendAudio": "audio",
    "sendDocument": "document",
    "sendAnimation": "animation",
    "sendSticker": "sticker",
}


class SendMethods:
    """send* methods; each ends in ComposeMixin._send (or stores an album)."""

    def _m_send_message(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        content = self._text_content(p)
        return self._send("sendMessage", p, content).to_json()

    def _media_sender(self, api_name: str, kind: str) -> Callable[[JSON, dict[str, _Upload]], Any]:
        def send(p: JSON, files: dict[str, _Upload]) -> JSON:
            caption = self._caption_content(p) if kind != "sticker" else {}
            self._writable_chat(p)  # chat errors before file errors
            media = self._input_file(kind, p.get(kind), files, p)
            content: JSON = {kind: media}
            content.update(caption)
            if p.get("has_spoiler") and kind in ("photo", "video", "animation"):
                content["has_media_spoiler"] = True
            return self._send(api_name, p, content).to_json()

        return send

    def _m_send_location(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        try:
            location = {"latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude") from None
        if not (-90 <= location["latitude"] <= 90 and -180 <= location["longitude"] <= 180):
            raise bad_request("wrong latitude or longitude")
        if p.get("live_period"):
            location["live_period"] = int(p["live_period"])
        return self._send("sendLocation", p, {"location": location}).to_json()

    def _m_send_venue(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        for key in ("latitude", "longitude", "title", "address"):
            if p.get(key) in (None, ""):
                raise bad_request(f'parameter "{key}" is required')
        venue = self._venue_json(p)
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if p.get(key):
                venue[key] = p[key]
        content = {"venue": venue, "location": dict(venue["location"])}
        return self._send("sendVenue", p, content).to_json()

    def _m_send_contact(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        if not p.get("phone_number") or not p.get("first_name"):
            raise bad_request("phone number and first name must be non-empty")
        contact = {"phone_number": str(p["phone_number"]), "first_name": str(p["first_name"])}
        if p.get("last_name"):
            contact["last_name"] = str(p["last_name"])
        return self._send("sendContact", p, {"contact": contact}).to_json()

    def _m_send_poll(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        options = p.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise bad_request("poll must have at least 2 option")
        texts = [o["text"] if isinstance(o, dict) else str(o) for o in options]
        poll = self._poll_json(
            str(p.get("question") or ""),
            texts,
            is_anonymous=p.get("is_anonymous", True) is not False,
            type=p.get("type") or "regular",
            allows_multiple_answers=bool(p.get("allows_multiple_answers")),
        )
        return self._send("sendPoll", p, {"poll": poll}).to_json()

    def _m_send_media_group(self, p: JSON, files: dict[str, _Upload]) -> list[JSON]:
        media = p.get("media")
        if media is None:
            raise bad_request('parameter "media" is required')
        if not isinstance(media, list) or not media:
            raise bad_request("there are no messages to send")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        types = []
        for item in media:
            if not isinstance(item, dict):
                raise bad_request("can't parse InputMedia: media not found")
            kind = item.get("type")
            if kind == "animation":
                raise bad_request(
                    "can't parse InputMedia: type \"animation\" can't be used in sendMediaGroup"
                )
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request(f'can\'t parse InputMedia: type "{kind}" is unsupported')
            types.append(kind)
        if "document" in types and set(types) != {"document"}:
            raise bad_request("document can't be mixed with other media types")
        if "audio" in types and set(types) != {"audio"}:
            raise bad_request("audio can't be mixed with other media types")
        chat = self._writable_chat(p)
        contents = []
        for item in media:
            caption = self._caption_content(item)
            content: JSON = {
                item["type"]: self._input_file(item["type"], item.get("media"), files, item, True)
            }
            content.update(caption)
            if item.get("has_spoiler"):
                content["has_media_spoiler"] = True
            contents.append(content)
        thread = self._thread(chat, p)
        reply_to = self._reply_target(chat, p)
        self._spend(chat, len(contents), bool(p.get("allow_paid_broadcast")))
        group_id = self._new_album_id() if len(contents) > 1 else None
        sent = [
            self._store(
                chat,
                self.bot.as_dict(),
                content,
                reply_to=reply_to,
                thread=thread,
                media_group_id=group_id,
                method="sendMediaGroup",
                protect=bool(p.get("protect_content")),
            )
            for content in contents
        ]
        return [m.to_json() for m in sent]

    def _poll_json(self, question: str, options: list[str], **extra: Any) -> JSON:
        n = next(self._file_ids)
        poll: JSON = {
            "id": f"{5_000_000_000 + n}",
            "question": question,
            "options": [
                {"text": text, "voter_count": 0, "persistent_id": f"{n}-{index}"}
                for index, text in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": True,
            "members_only": False,
        }
        poll.update(extra)
        return poll

    @staticmethod
    def _venue_json(venue: Any) -> JSON:
        if isinstance(venue, dict):
            lat, lon = venue["latitude"], venue["longitude"]
            title, address = venue.get("title", "Venue"), venue.get("address", "Address")
        else:
            lat, lon, title, address = venue
        return {
            "location": {"latitude": float(lat), "longitude": float(lon)},
            "title": str(title),
            "address": str(address),
        }

    def _new_album_id(self) -> str:
        return f"{13_800_000_000_000_000 + next(self._album_ids)}"

    def _api_send(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "sendMessage": self._m_send_message,
            "sendLocation": self._m_send_location,
            "sendVenue": self._m_send_venue,
            "sendContact": self._m_send_contact,
            "sendPoll": self._m_send_poll,
            "sendMediaGroup": self._m_send_media_group,
        }
        for api_name, kind in _SEND_MEDIA_METHODS.items():
            table[api_name] = self._media_sender(api_name, kind)
        return table
