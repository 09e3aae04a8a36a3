-- The answer bot (issue 19): each workspace's answer settings (Settings → AI & voice), and every
-- customer message the bot considered with what it decided. The turns are how the bot knows it
-- escalated a ticket already (it stays quiet until staff engage) and what the knowledge gaps list
-- shows (questions it escalated for lack of an answer). Ticket and entry ids carry no foreign key:
-- a retention purge deletes tickets' entries, and a turn must not hold them back.

CREATE TABLE answer_settings (
    workspace_id                 INTEGER PRIMARY KEY REFERENCES workspaces(id),
    -- Off until an admin turns it on: an installation that never configured it keeps its threads
    -- as they were.
    bot_enabled                  BOOLEAN NOT NULL DEFAULT FALSE,
    -- Percent, 0 to 100: below it the bot escalates instead of answering.
    confidence_threshold         INTEGER NOT NULL DEFAULT 65,
    -- A style instruction for the chat model's answers.
    voice                        TEXT NOT NULL DEFAULT '',
    -- Minutes the bot waits after a staff message before answering again (0: no time-based pause).
    staff_reply_cooldown_minutes INTEGER NOT NULL DEFAULT 30,
    updated_at                   INTEGER NOT NULL
);

CREATE TABLE bot_turns (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
    ticket_id       INTEGER NOT NULL,
    -- The customer's entry the bot considered: one turn per entry, so a message is answered once.
    entry_id        INTEGER NOT NULL,
    question        TEXT NOT NULL,
    -- answer, ask or escalate.
    decision        TEXT NOT NULL,
    -- Percent, 0 to 100.
    confidence      INTEGER NOT NULL,
    -- Why, as a JSON array of sentences.
    reasons         TEXT NOT NULL,
    -- The bot's own entry (its answer, its question, its handoff note), when it wrote one.
    reply_entry_id  INTEGER,
    -- Set when an admin dismissed it from the knowledge gaps list.
    gap_dismissed_at INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX bot_turns_entry ON bot_turns(entry_id);
CREATE INDEX bot_turns_ticket ON bot_turns(ticket_id);
CREATE INDEX bot_turns_reply ON bot_turns(reply_entry_id) WHERE reply_entry_id IS NOT NULL;
CREATE INDEX bot_turns_gaps ON bot_turns(workspace_id, created_at) WHERE decision = 'escalate';
