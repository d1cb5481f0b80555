-- Erasure (/deleteme) and retention: a tip can outlive the link to its resident.
-- (0012–0014 belong to other features; the runner applies every version not applied, in order.)

-- Why a tip has no resident any more: 'erased' (the resident used /deleteme) or 'retention'
-- (closed more than RETENTION_DAYS ago). NULL: still linked (or never had a resident).
ALTER TABLE tips ADD COLUMN detached TEXT;

-- A resident's follow-up keeps its text (it is part of the tip on record) but loses where it came
-- from: the chat and message it was sent as become NULL, which the old NOT NULL did not allow.
-- SQLite changes a column's constraint by rebuilding the table (nothing refers to this one).
CREATE TABLE tip_messages_0015 (
    id INTEGER PRIMARY KEY,
    tip_id INTEGER NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    author TEXT NOT NULL,                  -- resident, officer, note
    officer_id INTEGER,                    -- kept for the audit trail, never shown to residents
    kind TEXT NOT NULL,                    -- text, photo, video, voice, document, location, ...
    text TEXT,
    file_id TEXT,
    latitude REAL,
    longitude REAL,
    source_chat_id INTEGER,                -- NULL once the resident is detached
    source_message_id INTEGER,
    created_at TEXT NOT NULL,
    UNIQUE (source_chat_id, source_message_id)
);
INSERT INTO tip_messages_0015 SELECT id, tip_id, author, officer_id, kind, text, file_id, latitude,
    longitude, source_chat_id, source_message_id, created_at FROM tip_messages;
DROP TABLE tip_messages;
ALTER TABLE tip_messages_0015 RENAME TO tip_messages;

-- A block outlives the erasure of the resident it stops, keyed by a keyed hash of their Telegram
-- id (HMAC-SHA256 with a key derived from the bot token, which is not in the database): when the
-- same account comes back it is blocked again, and the database alone cannot tell who it was.
CREATE TABLE erased_blocks (
    resident_hash TEXT PRIMARY KEY,
    tip_id INTEGER REFERENCES tips(id) ON DELETE SET NULL,
    reason TEXT,
    officer_id INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX erased_blocks_by_tip ON erased_blocks(tip_id);

-- Retention looks for closed tips still linked to a resident, and for old delivered rows.
CREATE INDEX tips_closed ON tips(status, resolved_at) WHERE detached IS NULL;
CREATE INDEX outbox_done ON outbox(updated_at) WHERE status != 'pending';
