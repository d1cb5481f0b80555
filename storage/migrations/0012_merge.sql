-- Merged tips (the officer desk's Merge button): a tip merged into an older open one shares its
-- status and its thread with it. merged_into always names the group's primary, never another
-- merged tip (groups are flat); NULL again after an Unmerge. Names are officers' first names.
ALTER TABLE tips ADD COLUMN merged_into INTEGER REFERENCES tips(id) ON DELETE SET NULL;
ALTER TABLE tips ADD COLUMN merged_at TEXT;
ALTER TABLE tips ADD COLUMN merged_by_id INTEGER;
ALTER TABLE tips ADD COLUMN merged_by_name TEXT;
CREATE INDEX tips_merged ON tips(merged_into) WHERE merged_into IS NOT NULL;
