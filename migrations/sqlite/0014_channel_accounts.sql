-- Generic channel tables (issue 14), after Chatwoot's inboxes and contact inboxes and Zammad's
-- channels: what every transport needs lives in the core, shaped the same for each; what a
-- channel alone understands (IMAP hosts, a template name) is JSON its module validates.
-- Moves the email and WhatsApp tables' rows here and drops those tables, so nothing is kept twice.

-- A channel account: a mailbox, a WhatsApp business number, later a Discord guild.
CREATE TABLE channel_accounts (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    -- The module's key: email, whatsapp, discord.
    channel      TEXT NOT NULL,
    -- The channel's own name for it: a mailbox address, Meta's phone number id, a guild id.
    external_key TEXT NOT NULL,
    name         TEXT NOT NULL,
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    -- Inbound traffic names only the external key (a WhatsApp webhook), so the key routes to
    -- one workspace: unique across workspaces, not only within one.
    global_route BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON objects. settings: what an admin configures, validated by the module. secrets: each
    -- value sealed with the server's key (or a hash), never returned over the API. state: what
    -- the channel keeps between runs (an IMAP cursor).
    settings     TEXT NOT NULL DEFAULT '{}',
    secrets      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, channel, external_key)
);
CREATE UNIQUE INDEX channel_accounts_route ON channel_accounts(channel, external_key) WHERE global_route;

-- How a contact is known on a channel; any number per contact and channel.
CREATE TABLE contact_identities (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    contact_id   INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, channel, external_id)
);
CREATE INDEX contact_identities_contact ON contact_identities(contact_id, channel, id);

-- How a staff member is known on a channel (a Discord user who answers from Discord).
CREATE TABLE staff_identities (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, channel, external_id)
);
CREATE INDEX staff_identities_user ON staff_identities(user_id, channel, id);

-- Messages a channel received, by the channel's key for them (an email's Message-ID, a WhatsApp
-- wamid): redeliveries are recognised, and what became of each (a ticket, a quarantine) is kept.
CREATE TABLE channel_messages (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    channel      TEXT NOT NULL,
    account_id   INTEGER REFERENCES channel_accounts(id) ON DELETE CASCADE,
    external_key TEXT NOT NULL,
    -- ticket, auto_reply, bounce, quarantined, seen.
    outcome      TEXT NOT NULL,
    reason       TEXT,
    sender       TEXT,
    subject      TEXT,
    ticket_id    INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    entry_id     INTEGER REFERENCES entries(id) ON DELETE SET NULL,
    -- The original in the blob store, when the channel keeps it.
    raw_sha256   TEXT,
    raw_size     INTEGER,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, channel, external_key)
);
CREATE INDEX channel_messages_outcome ON channel_messages(workspace_id, channel, outcome, created_at);
CREATE INDEX channel_messages_age ON channel_messages(channel, created_at);
-- Keys some channels make unique everywhere (WhatsApp's message ids) are looked up without a workspace.
CREATE INDEX channel_messages_key ON channel_messages(channel, external_key);

-- The ticket says which channel answers it and through which account, instead of the source and
-- a thread-key prefix saying it.
ALTER TABLE tickets ADD COLUMN channel TEXT NOT NULL DEFAULT 'web';
ALTER TABLE tickets ADD COLUMN channel_account_id INTEGER REFERENCES channel_accounts(id) ON DELETE SET NULL;
-- What a channel records about an entry (a WhatsApp template name), as a JSON object.
ALTER TABLE entries ADD COLUMN channel_meta TEXT;

-- ---- the rows ----

-- Mailboxes keep their ids: POST /inbound/email/{id} is configured in mail servers.
INSERT INTO channel_accounts (id, workspace_id, channel, external_key, name, enabled, global_route, settings,
                              secrets, state, created_at, updated_at)
SELECT id, workspace_id, 'email', address, name, enabled, FALSE,
       json_object('address', address, 'imap_host', imap_host, 'imap_port', imap_port,
                   'imap_security', imap_security, 'imap_user', imap_user, 'imap_folder', imap_folder,
                   'imap_processed_folder', imap_processed_folder, 'smtp_host', smtp_host,
                   'smtp_port', smtp_port, 'smtp_security', smtp_security, 'smtp_user', smtp_user,
                   'ack_enabled', json(CASE WHEN ack_enabled THEN 'true' ELSE 'false' END),
                   'ack_template', ack_template),
       json_object('imap_password', imap_password_enc, 'smtp_password', smtp_password_enc,
                   'inbound_secret_hash', inbound_secret_hash),
       json_object('imap_uid_validity', imap_uid_validity, 'imap_last_uid', imap_last_uid),
       created_at, updated_at
FROM email_mailboxes ORDER BY id;

INSERT INTO channel_accounts (workspace_id, channel, external_key, name, enabled, global_route, settings, secrets,
                              state, created_at, updated_at)
SELECT workspace_id, 'whatsapp', phone_number_id, display_phone_number, TRUE, TRUE,
       json_object('display_phone_number', display_phone_number, 'template_name', template_name,
                   'template_language', template_language),
       json_object('access_token', access_token_enc), '{}', created_at, updated_at
FROM whatsapp_numbers ORDER BY id;

INSERT INTO contact_identities (workspace_id, contact_id, channel, external_id, created_at)
SELECT workspace_id, id, 'whatsapp', whatsapp_id, created_at FROM contacts WHERE whatsapp_id IS NOT NULL ORDER BY id;
INSERT INTO contact_identities (workspace_id, contact_id, channel, external_id, created_at)
SELECT workspace_id, id, 'discord', discord_user_id, created_at FROM contacts WHERE discord_user_id IS NOT NULL ORDER BY id;

-- The same Message-ID in two mailboxes of one workspace was one ticket entry already (entries are
-- unique per workspace, channel and message id); the first mailbox's record is the one kept.
INSERT INTO channel_messages (id, workspace_id, channel, account_id, external_key, outcome, reason, sender, subject,
                              ticket_id, entry_id, raw_sha256, raw_size, created_at)
SELECT m.id, m.workspace_id, 'email', m.mailbox_id, m.dedupe_key, m.outcome, m.reason, m.from_address, m.subject,
       m.ticket_id, m.entry_id, m.raw_sha256, m.raw_size, m.created_at
FROM email_messages m
WHERE NOT EXISTS (SELECT 1 FROM email_messages e
                  WHERE e.workspace_id = m.workspace_id AND e.dedupe_key = m.dedupe_key AND e.id < m.id)
ORDER BY m.id;
INSERT INTO channel_messages (workspace_id, channel, external_key, outcome, created_at)
SELECT workspace_id, 'whatsapp', wamid, 'seen', seen_at FROM whatsapp_seen_messages ORDER BY seen_at, wamid;

UPDATE tickets SET channel = CASE
    WHEN source = 'chat' AND thread_key LIKE 'whatsapp:%' THEN 'whatsapp'
    WHEN source = 'chat' THEN 'web'
    ELSE source
END;
UPDATE tickets SET channel_account_id = (SELECT e.mailbox_id FROM email_tickets e WHERE e.ticket_id = tickets.id)
WHERE id IN (SELECT ticket_id FROM email_tickets);
-- A WhatsApp ticket is answered from the number its requester last wrote to, else the workspace's
-- first number (what the reply path chose before).
UPDATE tickets SET channel_account_id = COALESCE(
    (SELECT a.id FROM contact_identities i
     JOIN whatsapp_conversations w ON w.workspace_id = i.workspace_id AND w.wa_id = i.external_id
     JOIN channel_accounts a ON a.channel = 'whatsapp' AND a.external_key = w.phone_number_id
          AND a.workspace_id = tickets.workspace_id
     WHERE i.contact_id = tickets.requester_id AND i.channel = 'whatsapp'),
    (SELECT MIN(a.id) FROM channel_accounts a WHERE a.workspace_id = tickets.workspace_id AND a.channel = 'whatsapp'))
WHERE channel = 'whatsapp';

UPDATE entries SET channel_meta = (
    SELECT json_object('template_name', w.template_name, 'template_language', w.template_language)
    FROM whatsapp_template_entries w WHERE w.entry_id = entries.id)
WHERE id IN (SELECT entry_id FROM whatsapp_template_entries);

-- ---- the old shape goes ----

DROP TABLE whatsapp_template_entries;
DROP TABLE whatsapp_seen_messages;
DROP TABLE whatsapp_numbers;
DROP TABLE email_tickets;
DROP TABLE email_messages;
DROP TABLE email_mailboxes;
DROP INDEX contacts_whatsapp;
DROP INDEX contacts_discord;
ALTER TABLE contacts DROP COLUMN whatsapp_id;
ALTER TABLE contacts DROP COLUMN discord_user_id;
