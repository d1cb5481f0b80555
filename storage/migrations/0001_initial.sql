-- Residents: only what the relay and broadcasts need. Names are never stored here; a resident
-- who chooses to share their name does so per tip (tips.reporter_name).
CREATE TABLE residents (
    user_id INTEGER PRIMARY KEY,
    language TEXT NOT NULL,
    broadcast_opt_in INTEGER,              -- NULL: not answered yet
    reachable INTEGER NOT NULL DEFAULT 1,  -- 0 after Telegram answered 403 (blocked the bot)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE tips (
    id INTEGER PRIMARY KEY,                -- the public reference: #42
    resident_id INTEGER REFERENCES residents(user_id) ON DELETE SET NULL,
    source_key TEXT NOT NULL UNIQUE,       -- one tip per draft / message, even if an update repeats
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    latitude REAL,
    longitude REAL,
    place TEXT,
    anonymous INTEGER NOT NULL DEFAULT 1,
    reporter_name TEXT,                    -- only when the resident chose to share it
    urgent INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'new',
    language TEXT NOT NULL,
    card_message_id INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX tips_by_resident ON tips(resident_id, created_at);

CREATE TABLE tip_media (
    id INTEGER PRIMARY KEY,
    tip_id INTEGER NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,                    -- photo, video, voice, document, audio, animation
    file_id TEXT NOT NULL,
    UNIQUE (tip_id, position)
);

-- Everything said on a tip after it was filed: resident follow-ups, officer replies, notes.
CREATE TABLE tip_messages (
    id INTEGER PRIMARY KEY,
    tip_id INTEGER NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    author TEXT NOT NULL,                  -- resident, officer, note
    officer_id INTEGER,                    -- kept for the audit trail, never shown to residents
    kind TEXT NOT NULL,                    -- text, photo, video, voice, document, location, ...
    text TEXT,
    file_id TEXT,
    latitude REAL,
    longitude REAL,
    source_chat_id INTEGER NOT NULL,
    source_message_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (source_chat_id, source_message_id)
);

-- Which Telegram message belongs to which tip, in the officer chat and in residents' chats:
-- the reply mapping that lets a Telegram reply find its tip after any restart.
CREATE TABLE thread_messages (
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    tip_id INTEGER NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

-- Every delivery that matters is written here before it is sent (see bot/delivery.py).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    lane TEXT NOT NULL,                    -- rows of one lane are sent in order, one at a time
    priority INTEGER NOT NULL,             -- lower goes first
    payload TEXT NOT NULL,                 -- JSON: what to send and what follows it
    tip_id INTEGER REFERENCES tips(id) ON DELETE SET NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending', -- pending, sent, failed, unreachable
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,    -- unix time; back-off after temporary errors
    last_error TEXT,
    message_ids TEXT,                      -- JSON list of Telegram message ids once sent
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(priority, id) WHERE status = 'pending';
CREATE INDEX outbox_lane ON outbox(lane, id) WHERE status = 'pending';

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    actor_id INTEGER,
    action TEXT NOT NULL,
    tip_id INTEGER,
    detail TEXT,
    created_at TEXT NOT NULL
);

-- python-telegram-bot persistence (conversation states, drafts in user_data).
CREATE TABLE ptb_persistence (
    kind TEXT NOT NULL,                    -- user_data, conversation:<name>
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
