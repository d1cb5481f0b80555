"""Porchlight: the application and its domain logic.

The middle layer of handlers → bot → storage. One module per domain capability (tips, relay,
broadcasts, events, groups, residents, safety, …) holds plain async functions that take the
`Store` and plain values and return dataclasses; nothing here sees a Telegram `Update`. Handlers
reach storage only through these functions (ruff's TID251 enforces it). `callbacks.py` is the
one codec of callback data, here because bot/ builds buttons into outbox contents too.
`app.py` wires everything; `budget.py` is the one retry policy and flood budget of every Bot
API call; `delivery.py` drains the outbox; `alarms.py` owns every timed job; `inbox.py` keeps
updates until handled; `session.py` is what the bot remembers of a person between updates.
"""

import os

# Opt in to python-telegram-bot's future behaviour: time periods (RetryAfter.retry_after, …)
# as datetime.timedelta. bot.delivery accepts both forms.
os.environ.setdefault("PTB_TIMEDELTA", "1")
