"""Possible duplicates: a new tip that looks like an open one gets "Possibly the same as #41".

Three neighbours count, in this order: a map pin within 200 m of an open tip's pin from the
last 24 hours; the same plate-like token (letters and digits together, e.g. "7ABC123" or
"AB-123-CD") as any open tip's description; the same category and place words as an open tip
from the last 24 hours. Pure functions: bot/tips.py asks them while filing, storage keeps the
answer on the tip, the card shows it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.models import Tip

NEARBY_METRES = 200.0
RECENT = timedelta(hours=24)
PLATE_MEMORY = timedelta(days=7)  # how far back an open tip's plate still counts
EARTH_RADIUS_M = 6_371_000.0
# A word of letters and digits, dashes allowed ("7ABC123", "AB-123-CD"): 5 to 8 of them.
_PLATE = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_WORD = re.compile(r"[^\W\d_]{3,}|\d+", re.UNICODE)
PLACE_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "near",
        "by",
        "at",
        "on",
        "in",
        "of",
        "street",
        "st",
        "road",
        "rd",
        "avenue",
        "ave",
        "corner",
        "el",
        "la",
        "los",
        "las",
        "del",
        "de",
        "en",
        "y",
        "calle",
        "avenida",
        "esquina",
        "cerca",
    ]
)


@dataclass(frozen=True)
class Resemblance:
    """Why a new tip may be the same as an open one (rendered on the card)."""

    tip_id: int
    reason: str  # "pin:80" (metres apart), "plate:7ABC123" or "place"

    @property
    def code(self) -> str:
        return self.reason.split(":", 1)[0]

    @property
    def detail(self) -> str:
        return self.reason.split(":", 1)[1] if ":" in self.reason else ""


def metres_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine): plenty for 200 m on a street map."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def plates(text: str) -> set[str]:
    """Plate-like tokens, normalised (upper case, no spaces or dashes)."""
    found = set()
    for match in _PLATE.finditer(text or ""):
        token = match.group(0).replace("-", "").upper()
        has_both = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if 5 <= len(token) <= 8 and has_both and token.isascii():
            found.add(token)
    return found


def plates_of(tip: Tip) -> set[str]:
    return plates(tip.description) | plates(tip.place or "")


def lookback(new: Tip) -> timedelta | None:
    """How far back open tips can matter for `new` (None: nothing to compare, ask nothing)."""
    if plates_of(new):
        return PLATE_MEMORY
    return RECENT if new.has_location or new.place else None


def place_words(text: str | None) -> set[str]:
    folded = unicodedata.normalize("NFKD", (text or "").casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return {w for w in _WORD.findall(plain) if w not in PLACE_STOPWORDS}


def _same_place(new: Tip, old: Tip) -> bool:
    mine, theirs = place_words(new.place), place_words(old.place)
    if not mine or not theirs:
        return False
    return len(mine & theirs) * 2 >= min(len(mine), len(theirs)) and bool(mine & theirs)


def resemblance(new: Tip, open_tips: list[Tip], now: datetime) -> Resemblance | None:
    """The open tip the new one most likely repeats, and why; None when nothing is close."""
    others = [t for t in open_tips if t.id != new.id and t.is_open]
    recent = [t for t in others if now - t.created_at <= RECENT]
    if new.latitude is not None and new.longitude is not None:
        pins = [
            (metres_apart((new.latitude, new.longitude), (t.latitude, t.longitude)), t)
            for t in recent
            if t.latitude is not None and t.longitude is not None
        ]
        near = [(d, t) for d, t in pins if d <= NEARBY_METRES]
        if near:
            distance, tip = min(near, key=lambda pair: pair[0])
            return Resemblance(tip.id, f"pin:{round(distance)}")
    mine = plates_of(new)
    for tip in sorted(others, key=lambda t: t.created_at, reverse=True) if mine else ():
        shared = mine & plates_of(tip)
        if shared:
            return Resemblance(tip.id, f"plate:{min(shared)}")
    for tip in sorted(recent, key=lambda t: t.created_at, reverse=True):
        if tip.category == new.category and _same_place(new, tip):
            return Resemblance(tip.id, "place")
    return None
