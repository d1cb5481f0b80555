"""The commands residents and officers have: one table each, for Telegram's command menus
(setMyCommands, in bot/app.py) and for /help (handlers), so the two can never disagree."""

from __future__ import annotations

from bot.i18n import N_

# command → the message id of its description
RESIDENT_COMMANDS = {
    "report": N_("command.report"),
    "mytips": N_("command.mytips"),
    "language": N_("command.language"),
    "events": N_("command.events"),
    "safety": N_("command.safety"),
    "trends": N_("command.trends"),
    "settings": N_("command.settings"),
    "subscribe": N_("command.subscribe"),
    "unsubscribe": N_("command.unsubscribe"),
    "privacy": N_("command.privacy"),
    "deleteme": N_("command.deleteme"),
    "help": N_("command.help"),
    "cancel": N_("command.cancel"),
}
OFFICER_COMMANDS = {
    "note": N_("command.officer_note"),
    "tips": N_("command.officer_tips"),
    "tip": N_("command.officer_tip"),
    "stats": N_("command.officer_stats"),
    "broadcast": N_("command.officer_broadcast"),
    "newevent": N_("command.officer_newevent"),
    "events": N_("command.officer_events"),
    "cancelevent": N_("command.officer_cancelevent"),
    "addtip": N_("command.officer_addtip"),
    "library": N_("command.officer_library"),
    "block": N_("command.officer_block"),
    "unblock": N_("command.officer_unblock"),
    "canned": N_("command.officer_canned"),
    "r": N_("command.officer_r"),
    "help": N_("command.officer_help"),
}
