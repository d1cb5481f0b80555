-- Several replicas on one database (PostgreSQL): updates and deliveries carry a lease.
--
-- inbox.chat_id: the chat whose order an update belongs to; an update waits while an earlier
-- one of its chat is not handled (NULL: no order to keep, and every update stored before this
-- version). claimed_by/lease_until: the replica handling it, until when; a replica that died
-- leaves a lease that expires, and another takes the update over.
-- outbox.claimed_by/lease_until: the replica sending a row, until when (the same takeover).
-- Times are epoch seconds, as outbox.not_before. On SQLite (one process) they stay NULL.
ALTER TABLE inbox ADD COLUMN chat_id INTEGER;
ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbox ADD COLUMN lease_until REAL;
CREATE INDEX inbox_pending_chat ON inbox (chat_id, update_id) WHERE handled_at IS NULL;

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until REAL;

-- ptb_persistence.version: the update a person's draft or conversation step was written after
-- (its update_id). A replica never overwrites a newer step with an older one it wrote late.
ALTER TABLE ptb_persistence ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
