-- Possible duplicates: the open tip a new one looks like, and why ("pin:80", "plate:7ABC123",
-- "place"); shown on the new tip's card so officers can treat both together.
ALTER TABLE tips ADD COLUMN duplicate_of INTEGER REFERENCES tips(id) ON DELETE SET NULL;
ALTER TABLE tips ADD COLUMN duplicate_reason TEXT;
