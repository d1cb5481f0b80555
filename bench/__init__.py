"""Porchlight's benchmark: tip routing under a burst, against a bare PTB echo bot as ceiling.

Why: the tip line must stay quick when a whole neighbourhood reports the same incident at once;
comparing with an echo bot on the same emulator separates Porchlight's own cost from PTB's and
the emulator's. Run with ``make bench`` (``python -m bench --residents 200``).
"""
