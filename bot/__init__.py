"""Porchlight: the application and its domain logic."""

import os

# Opt in to python-telegram-bot's future behaviour: time periods (RetryAfter.retry_after, …)
# as datetime.timedelta. bot.delivery accepts both forms.
os.environ.setdefault("PTB_TIMEDELTA", "1")
