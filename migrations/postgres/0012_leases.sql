-- Leases on background work that must not run twice at once when several replicas share the
-- database: `name` says what (`email.imap.<mailbox id>`, `whatsapp.inbox.<row id>`), `holder`
-- which process has it, until `expires_at` (ms) unless it renews; a dead holder's lease runs out.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
