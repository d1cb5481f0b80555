-- The drainer asks when the next backed-off row is due; without this it scanned every
-- pending row of a large broadcast each time.
CREATE INDEX outbox_wakeup ON outbox(not_before) WHERE status = 'pending';
