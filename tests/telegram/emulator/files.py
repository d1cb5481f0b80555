"""Files: uploads, file_ids and URLs turned into Telegram's media JSON, and ``getFile``.

Generated files get deterministic bytes with a plausible magic number, served under
``/file/bot<token>/<file_path>``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .errors import bad_request
from .wire import JSON, Handler, _Upload
from .world import StoredFile


def _fake_bytes(seed: str, size: int, header: bytes) -> bytes:
    """Deterministic stand-in file content with a plausible magic number."""
    block = hashlib.sha256(seed.encode()).digest()
    body = (block * (size // len(block) + 1))[: max(size - len(header), 0)]
    return header + body


_MAGIC = {
    "photo": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "video": b"\x00\x00\x00\x18ftypmp42",
    "animation": b"\x00\x00\x00\x18ftypmp42",
    "voice": b"OggS\x00\x02",
    "audio": b"ID3\x03\x00",
    "document": b"%PDF-1.4\n",
    "sticker": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
}


# What Telegram's photo processing accepts, by magic number (anything else: IMAGE_PROCESS_FAILED).
_IMAGE_MAGIC = (b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"GIF8", b"RIFF", b"BM")


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk (None for other formats)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


_KIND_DIRS = {
    "photo": ("photos", "jpg"),
    "video": ("videos", "mp4"),
    "animation": ("animations", "mp4"),
    "voice": ("voice", "oga"),
    "audio": ("music", "mp3"),
    "document": ("documents", "pdf"),
    "sticker": ("stickers", "webp"),
}


_KIND_NAMES = {
    "photo": "Photo",
    "video": "Video",
    "animation": "Animation",
    "voice": "VoiceNote",
    "audio": "Audio",
    "document": "Document",
    "sticker": "Sticker",
}


class FilesMixin:
    """Stores files and resolves file parameters; the getFile method."""

    def _new_file(
        self,
        kind: str,
        data: bytes | None,
        *,
        filename: str | None = None,
        mime: str | None = None,
        extra: JSON | None = None,
        width: int = 1280,
        height: int = 960,
    ) -> StoredFile:
        n = next(self._file_ids)
        folder, ext = _KIND_DIRS[kind]
        if data is None:
            size = {"photo": 20_000, "video": 60_000, "animation": 30_000}.get(kind, 8_000)
            data = _fake_bytes(f"{kind}-{n}", size, _MAGIC[kind])
        meta: JSON = {}
        if kind == "photo":
            meta = {"width": width, "height": height}
        elif kind in ("video", "animation"):
            meta = {
                "width": 1280,
                "height": 720,
                "duration": 7,
                "mime_type": mime if mime and mime.startswith("video/") else "video/mp4",
            }
            meta["file_name"] = filename or f"{kind}_{n}.mp4"
        elif kind == "voice":
            meta = {"duration": 4, "mime_type": "audio/ogg"}
        elif kind == "audio":
            meta = {
                "duration": 30,
                "mime_type": mime if mime and mime.startswith("audio/") else "audio/mpeg",
                "file_name": filename or f"audio_{n}.mp3",
            }
        elif kind == "document":
            meta = {
                "file_name": filename or f"document_{n}.pdf",
                "mime_type": mime or "application/pdf",
            }
        elif kind == "sticker":
            meta = {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        meta.update(extra or {})
        stored = StoredFile(
            file_id=f"EMU{kind[:2].upper()}{n:08d}{hashlib.md5(str(n).encode()).hexdigest()[:12]}",
            file_unique_id=f"AQAD{n:08d}",
            kind=kind,
            data=data,
            meta=meta,
            file_path=f"{folder}/file_{n}.{ext}",
        )
        self.files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored

    def _new_photo(self, seed: str, data: bytes | None = None) -> list[JSON]:
        sizes = [(90, 68, 1_200), (320, 240, 6_000), (1280, 960, 24_000)]
        if data is not None:
            sizes = sizes[1:]
            real = _png_size(data)
            if real is not None:  # the upload is the largest size, as Telegram keeps it
                width, height = real
                sizes[-1] = (width, height, len(data))
                sizes[0] = (320, max(1, height * 320 // max(width, 1)), 6_000)
        group: list[StoredFile] = []
        for index, (w, h, size) in enumerate(sizes):
            last = index == len(sizes) - 1
            content = data if (last and data is not None) else None
            if content is None:
                content = _fake_bytes(f"{seed}-{next(self._file_ids)}-{w}", size, _MAGIC["photo"])
            group.append(self._new_file("photo", content, width=w, height=h))
        ids = [g.file_id for g in group]
        for stored in group:
            stored.group = ids
        return [g.as_json() for g in group]

    def _media_json(self, stored: StoredFile) -> Any:
        if stored.kind == "photo":
            return [self.files[fid].as_json() for fid in (stored.group or [stored.file_id])]
        return stored.as_json()

    def _input_file(
        self, kind: str, ref: Any, files: dict[str, _Upload], p: JSON, in_album: bool = False
    ) -> Any:
        """Resolve a file parameter (upload, attach://, file_id or URL) to message JSON."""
        upload: _Upload | None = None
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://") :])
            if upload is None:
                raise bad_request("can't parse InputMedia: media not found")
        elif ref in (None, "") and not in_album:
            upload = files.get(kind)
            if upload is None:
                raise bad_request(f"there is no {kind} in the request")
        elif ref in (None, ""):
            raise bad_request("can't parse InputMedia: media not found")
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            if kind == "photo":
                if not upload.data.startswith(_IMAGE_MAGIC):
                    raise bad_request("IMAGE_PROCESS_FAILED")
                return self._new_photo(seed="upload", data=upload.data)
            extra: JSON = {}
            for key in ("duration", "width", "height", "title", "performer"):
                if p.get(key) not in (None, ""):
                    extra[key] = p[key]
            stored = self._new_file(
                kind, upload.data, filename=upload.filename, mime=upload.content_type, extra=extra
            )
            return stored.as_json()
        ref = str(ref)
        stored_ref = self.files.get(ref)
        if stored_ref is None:
            if ref.startswith(("http://", "https://")):
                stored_ref = self._new_file(kind, None, filename=ref.rsplit("/", 1)[-1] or None)
                return self._media_json(stored_ref)
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored_ref.kind != kind:
            raise bad_request(
                f"can't use file of type {_KIND_NAMES[stored_ref.kind]} as {_KIND_NAMES[kind]}"
            )
        return self._media_json(stored_ref)

    def _m_get_file(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        stored = self.files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if len(stored.data) > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _api_files(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "getFile": self._m_get_file,
        }
        return table
