-- Live ticket counts per workspace, queue and status, kept by triggers in the transaction of
-- every ticket change. The queue views' totals and the stats tiles read a few rows here instead
-- of counting every matching ticket. SQLite only: it runs one write at a time, so the shared
-- counter rows cost nothing in contention; PostgreSQL would serialize concurrent ticket writes
-- on them and counts with index-only scans instead.
CREATE TABLE ticket_counters (
    workspace_id INTEGER NOT NULL,
    queue_id     INTEGER NOT NULL,
    status       TEXT NOT NULL,
    tickets      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, queue_id, status)
) WITHOUT ROWID;
INSERT INTO ticket_counters (workspace_id, queue_id, status, tickets)
    SELECT workspace_id, queue_id, status, COUNT(*) FROM tickets GROUP BY workspace_id, queue_id, status;

CREATE TRIGGER ticket_counters_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_counters (workspace_id, queue_id, status, tickets) VALUES (new.workspace_id, new.queue_id, new.status, 1)
        ON CONFLICT (workspace_id, queue_id, status) DO UPDATE SET tickets = tickets + 1;
END;
CREATE TRIGGER ticket_counters_delete AFTER DELETE ON tickets BEGIN
    UPDATE ticket_counters SET tickets = tickets - 1
        WHERE workspace_id = old.workspace_id AND queue_id = old.queue_id AND status = old.status;
END;
CREATE TRIGGER ticket_counters_update AFTER UPDATE OF status, queue_id ON tickets
    WHEN old.status <> new.status OR old.queue_id <> new.queue_id
BEGIN
    UPDATE ticket_counters SET tickets = tickets - 1
        WHERE workspace_id = old.workspace_id AND queue_id = old.queue_id AND status = old.status;
    INSERT INTO ticket_counters (workspace_id, queue_id, status, tickets) VALUES (new.workspace_id, new.queue_id, new.status, 1)
        ON CONFLICT (workspace_id, queue_id, status) DO UPDATE SET tickets = tickets + 1;
END;
