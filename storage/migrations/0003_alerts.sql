-- Officers' alerts and announcements keep what they said, and tips can answer an alert.
ALTER TABLE broadcasts ADD COLUMN text TEXT;
ALTER TABLE broadcasts ADD COLUMN photo_file_id TEXT;
ALTER TABLE broadcasts ADD COLUMN finished_at TEXT;
ALTER TABLE tips ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts(id);
