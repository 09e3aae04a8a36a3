-- Transcript retention and the originals of received messages (issue 21): the purge finds a
-- ticket's received messages to clear their original, and keeps bytes any record still names.
CREATE INDEX channel_messages_ticket ON channel_messages(ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX channel_messages_raw ON channel_messages(raw_sha256) WHERE raw_sha256 IS NOT NULL;
