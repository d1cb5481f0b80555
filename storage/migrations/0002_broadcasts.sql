-- Subscriptions by topic. A resident who answered the /start opt-in gets all three set to
-- their answer; NULL opt-in (never answered) means not subscribed.
ALTER TABLE residents ADD COLUMN sub_safety INTEGER NOT NULL DEFAULT 0;
ALTER TABLE residents ADD COLUMN sub_events INTEGER NOT NULL DEFAULT 0;
ALTER TABLE residents ADD COLUMN sub_alerts INTEGER NOT NULL DEFAULT 0;
UPDATE residents SET sub_safety = 1, sub_events = 1, sub_alerts = 1 WHERE broadcast_opt_in = 1;

-- The safety-tip library: shipped tips (keyed, loaded at start) and officers' own.
CREATE TABLE safety_tips (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    position INTEGER NOT NULL,             -- rotation order
    title_en TEXT NOT NULL,
    body_en TEXT NOT NULL,
    title_es TEXT NOT NULL,
    body_es TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    added_by INTEGER,                      -- officer id for officers' tips
    broadcast_count INTEGER NOT NULL DEFAULT 0,
    last_broadcast_at TEXT,
    created_at TEXT NOT NULL
);

-- One row per broadcast; its key makes a run idempotent (weekly:2026-W48, alert:<uuid>).
CREATE TABLE broadcasts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,                    -- weekly, alert, announcement
    safety_tip_id INTEGER REFERENCES safety_tips(id),
    created_by INTEGER,
    recipients INTEGER NOT NULL DEFAULT 0,
    report_message_id INTEGER,             -- the live delivery report in the officer chat
    created_at TEXT NOT NULL
);
ALTER TABLE outbox ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts(id);
CREATE INDEX outbox_broadcast ON outbox(broadcast_id, status);

-- Community groups: approved ones receive broadcasts.
CREATE TABLE community_groups (
    chat_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL,                  -- pending, approved, left
    added_by_name TEXT,
    language TEXT NOT NULL,
    card_message_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
