-- A channel message from staff who have no staff account linked (a Discord member with a staff
-- role) is a staff reply by the name the channel gave; the entry keeps that name.
ALTER TABLE entries ADD COLUMN author_label TEXT;

-- A durable inbox of channel events (Discord's gateway dispatches): each is stored before it is
-- processed, once per key (a replayed or resumed event finds its row), and processed from here,
-- so an event a crash interrupted is processed after the restart.
CREATE TABLE channel_inbox (
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL,
    -- The event's own key: its kind and the id of what it is about (a message id, an edit's time).
    external_key TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    -- Why it was set aside, when processing failed for good.
    note         TEXT,
    UNIQUE (channel, external_key)
);
CREATE INDEX channel_inbox_pending ON channel_inbox(channel, processed_at, id);
