-- The officer desk: who triaged a tip and when, its first answer, and the resident's rating.
-- Names are officers' first names as Telegram gives them, shown only in the officer chat.
ALTER TABLE tips ADD COLUMN status_by_id INTEGER;     -- the officer who set the current status
ALTER TABLE tips ADD COLUMN status_by_name TEXT;
ALTER TABLE tips ADD COLUMN assignee_id INTEGER;      -- the officer who took it
ALTER TABLE tips ADD COLUMN assignee_name TEXT;
ALTER TABLE tips ADD COLUMN acknowledged_at TEXT;
ALTER TABLE tips ADD COLUMN first_answer_at TEXT;     -- an officer's first reply to the resident
ALTER TABLE tips ADD COLUMN resolved_at TEXT;
ALTER TABLE tips ADD COLUMN rating INTEGER;           -- 1..5, given once by the tip's resident
ALTER TABLE tips ADD COLUMN rating_comment TEXT;
ALTER TABLE tips ADD COLUMN rated_at TEXT;
CREATE INDEX tips_by_status ON tips(status, urgent, created_at);
