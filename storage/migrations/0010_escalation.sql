-- Escalation of urgent tips nobody acknowledged, and the daily list of stale tips.
-- (0008 and 0009 belong to the officer desk's other parts; the runner applies any version not
-- yet applied, in order, so the numbers may have a gap.)

-- One row per tip and round of escalation (1: the card pinned and officers pinged; 2…: pinged
-- again), claimed in the transaction that queues its messages: a restart never repeats a round.
CREATE TABLE escalations (
    tip_id INTEGER NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    pinned_message_id INTEGER,             -- round 1 only: the card pinned (when known then)
    unpinned_at TEXT,                      -- round 1 only: the card's pin was released
    PRIMARY KEY (tip_id, round)
);

-- Urgent tips filed before escalation existed had no way to be acknowledged: they are not
-- escalated after the upgrade (round 999 stands for "never escalate").
INSERT INTO escalations (tip_id, round, created_at)
    SELECT id, 999, created_at FROM tips WHERE urgent = 1 AND status = 'new';

-- Work done once per day (key e.g. "stale:2026-11-26", the date in TIMEZONE).
CREATE TABLE daily_runs (
    key TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE INDEX tips_open ON tips(status, urgent, created_at);
