-- Statistics for officers (/stats, the weekly digest) and trends for residents (/trends).

-- Tips are counted by the week they were filed in: a range of created_at, with the category
-- and status read from the index (the weekly table never touches the rows).
CREATE INDEX tips_by_created ON tips(created_at, category, status);
-- Ratings of a period are those given in it.
CREATE INDEX tips_by_rated ON tips(rated_at) WHERE rated_at IS NOT NULL;

-- The officers' weekly digest: one row per ISO week (key "digest:2026-W49", the week of its
-- scheduled time in TIMEZONE), claimed in the transaction that queues it, so a restart or a
-- late run never posts a week twice.
CREATE TABLE digest_runs (
    key TEXT PRIMARY KEY,
    period_start TEXT NOT NULL,            -- UTC: the first week the digest covers
    period_end TEXT NOT NULL,              -- UTC: the end of the last (complete) week
    created_at TEXT NOT NULL
);
