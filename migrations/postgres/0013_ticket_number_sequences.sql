-- Ticket numbers come from a sequence per workspace, `ticket_numbers_<workspace id>`, instead of
-- an UPDATE of the workspace row. The UPDATE held that row locked until the create committed, so
-- every create in a workspace waited for the one before it to commit; nextval takes no row lock
-- and is never rolled back. The price is a gap where a create rolls back (or the server crashes:
-- PostgreSQL logs a sequence 32 values ahead). Numbers stay unique: the sequence never repeats a
-- value, and UNIQUE (workspace_id, number) still guards the table.
--
-- `workspaces.next_ticket_number` stays as a floor: a workspace row inserted with it (a new
-- workspace, a copy from another installation) gets its sequence starting there, and raising it
-- (an import of numbered tickets) moves the sequence past it. Nothing writes it per ticket any
-- more, so it is not the next number on PostgreSQL; the sequence is.

CREATE FUNCTION ticket_numbers_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I AS BIGINT MINVALUE 1 START WITH %s',
                   'ticket_numbers_' || NEW.id, GREATEST(NEW.next_ticket_number, 1));
    RETURN NULL;
END $$;

-- Only ever moves the sequence forward: the numbers it already handed out stay taken.
CREATE FUNCTION ticket_numbers_raise() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    seq TEXT := 'ticket_numbers_' || NEW.id;
    next_value BIGINT;
BEGIN
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM %I', seq) INTO next_value;
    IF NEW.next_ticket_number > next_value THEN
        PERFORM setval(seq::regclass, NEW.next_ticket_number, false);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ticket_numbers_create AFTER INSERT ON workspaces
    FOR EACH ROW EXECUTE FUNCTION ticket_numbers_create();
CREATE TRIGGER ticket_numbers_raise AFTER UPDATE OF next_ticket_number ON workspaces
    FOR EACH ROW WHEN (NEW.next_ticket_number > OLD.next_ticket_number) EXECUTE FUNCTION ticket_numbers_raise();

-- Existing workspaces continue after their highest number.
DO $$
DECLARE
    w RECORD;
BEGIN
    FOR w IN SELECT ws.id, GREATEST(ws.next_ticket_number, COALESCE(MAX(t.number), 0) + 1, 1) AS next_number
             FROM workspaces ws LEFT JOIN tickets t ON t.workspace_id = ws.id GROUP BY ws.id LOOP
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I AS BIGINT MINVALUE 1 START WITH %s',
                       'ticket_numbers_' || w.id, w.next_number);
    END LOOP;
END $$;
