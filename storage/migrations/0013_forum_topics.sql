-- Forum topics: when the officer chat is a forum, each tip gets its own topic (bot/forum.py).
-- topic_id is the topic's message_thread_id; topic_name the name the bot last gave it.
-- topic_state: NULL no topic; 'creating' a createForumTopic was sent and its answer is not
-- recorded yet; 'open' or 'closed' the topic exists, as the bot last left it; 'unknown' a
-- creation may have happened without an answer: never asked again, the tip stays in General.
ALTER TABLE tips ADD COLUMN topic_id INTEGER;
ALTER TABLE tips ADD COLUMN topic_state TEXT;
ALTER TABLE tips ADD COLUMN topic_name TEXT;
