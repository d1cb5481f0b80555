-- Community events, residents' answers, and every scheduled reminder as a row: the database
-- says what is due, APScheduler only wakes the bot up.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    starts_at TEXT NOT NULL,               -- UTC
    ends_at TEXT,                          -- UTC
    place TEXT,
    latitude REAL,
    longitude REAL,
    description TEXT,
    capacity INTEGER,
    status TEXT NOT NULL DEFAULT 'draft',  -- draft, announced, cancelled
    sequence INTEGER NOT NULL DEFAULT 0,   -- bumped when the time changes (.ics SEQUENCE)
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX events_by_start ON events(status, starts_at);

CREATE TABLE rsvps (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES residents(user_id) ON DELETE CASCADE,
    answer TEXT NOT NULL,                  -- going, maybe, no
    rating INTEGER,                        -- 1-5 after the event
    updated_at TEXT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);

CREATE TABLE event_jobs (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                    -- reminder, feedback
    lead_minutes INTEGER NOT NULL,         -- reminder: minutes before the start
    due_at TEXT NOT NULL,                  -- UTC
    status TEXT NOT NULL DEFAULT 'pending', -- pending, done, skipped, cancelled
    UNIQUE (event_id, kind, lead_minutes, due_at)
);
CREATE INDEX event_jobs_due ON event_jobs(status, due_at);
