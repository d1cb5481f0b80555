-- Telegram's flood limits shared by replicas on PostgreSQL (bot/shared_budget.py,
-- storage/flood.py). Times are seconds since the epoch on the database's clock.
-- flood_paces: one row per overall pace ('free' 30 a second, 'paid' 1,000 a second);
-- next_free is when its next message may go (a shared GCRA).
-- flood_sends: a group's recent messages (the sliding minute), deleted once out of the window.
-- UNLOGGED on PostgreSQL (SQLite reads the word as a comment): no WAL per booking, and what a
-- crash empties is a minute of history that a 429 would teach again. SQLite never uses them.
CREATE /* postgresql: UNLOGGED */ TABLE flood_paces (
    key TEXT PRIMARY KEY,
    next_free REAL NOT NULL
);
CREATE /* postgresql: UNLOGGED */ TABLE flood_sends (
    chat TEXT NOT NULL,
    sent_at REAL NOT NULL,
    messages INTEGER NOT NULL
);
CREATE INDEX flood_sends_by_chat ON flood_sends (chat, sent_at);
