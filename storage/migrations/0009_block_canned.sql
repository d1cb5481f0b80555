-- Blocks: a resident who may no longer reach officers. Keyed by the resident's Telegram id,
-- which officers never see: they know a block only by the tip it was made from.
CREATE TABLE blocks (
    resident_id INTEGER PRIMARY KEY,
    tip_id INTEGER REFERENCES tips(id) ON DELETE SET NULL,
    reason TEXT,
    officer_id INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

-- Canned replies: officers' templates, one text per language (English required; a missing
-- Spanish text falls back to English).
CREATE TABLE canned_replies (
    name TEXT PRIMARY KEY,
    text_en TEXT NOT NULL,
    text_es TEXT,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
