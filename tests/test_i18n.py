"""Every message id the code uses exists, translated, in every catalog."""

from __future__ import annotations

import re
import string
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import catalog_path

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {
    "t": None,
    "N_": None,
    "translate": (2,),
    "plain": (2,),
    "_officer_t": (2,),
    "_officer_notice": (3,),
    "officer_t": (2,),
    "_all_languages": None,
    "_ot": (2,),
}
MESSAGE_ID = re.compile(r"^[a-z_]+\.[a-z_.]+$")


def used_message_ids() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers"):
        for _, _, message, _, _ in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, method_map=[("**.py", "python")]
        ):
            if isinstance(message, str) and MESSAGE_ID.match(message):
                found.add(message)
    return found


def catalog(language: str) -> dict[str, str]:
    with (resources.files("bot") / catalog_path(language)).open("rb") as handle:
        po = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in po if m.id}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_code_uses_message_ids() -> None:
    assert {"report.thanks", "card.title", "emergency.notice"} <= used_message_ids()


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_used_message_id_is_translated(language: str) -> None:
    messages = catalog(language)
    missing = sorted(key for key in used_message_ids() if not messages.get(key))
    assert missing == [], f"{language} catalog lacks {missing}"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_translations_keep_the_placeholders_of_english(language: str) -> None:
    english, other = catalog("en"), catalog(language)
    wrong = [key for key in english if placeholders(english[key]) != placeholders(other[key])]
    assert wrong == []
