-- Every update is written here before Telegram can be told it arrived (the next getUpdates
-- offset, or the webhook's 200), and marked handled afterwards: a crash in between leaves it
-- pending, and the next start handles it. A handled row keeps its id (payload emptied) for a
-- while, so Telegram delivering the same update again is recognised and ignored.
CREATE TABLE inbox (
    update_id INTEGER PRIMARY KEY,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    handled_at TEXT
);
