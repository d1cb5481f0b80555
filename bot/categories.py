"""The categories a resident files a tip under (message ids translated where shown).

Apart from bot/tips.py so the callback codec can read them while the card, built in
bot/tips.py, uses the codec for its desk buttons (no import circle)."""

from __future__ import annotations

from bot.i18n import N_

CATEGORIES = {
    "person": N_("category.suspicious_person"),
    "vehicle": N_("category.suspicious_vehicle"),
    "theft": N_("category.break_in"),
    "vandalism": N_("category.vandalism"),
    "hazard": N_("category.hazard"),
    "other": N_("category.other"),
}
