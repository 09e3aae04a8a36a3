-- Substring search on ticket subjects without reading every ticket: a trigram index (FTS5)
-- kept in step with tickets by triggers. Queries keep their LIKE '%text%' meaning; the index
-- only narrows which rows are read.
CREATE VIRTUAL TABLE tickets_subject_search USING fts5(subject, content = 'tickets', content_rowid = 'id', tokenize = 'trigram');
INSERT INTO tickets_subject_search (rowid, subject) SELECT id, subject FROM tickets;

CREATE TRIGGER tickets_subject_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_subject_search (rowid, subject) VALUES (new.id, new.subject);
END;
CREATE TRIGGER tickets_subject_search_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_subject_search (tickets_subject_search, rowid, subject) VALUES ('delete', old.id, old.subject);
END;
CREATE TRIGGER tickets_subject_search_update AFTER UPDATE OF subject ON tickets BEGIN
    INSERT INTO tickets_subject_search (tickets_subject_search, rowid, subject) VALUES ('delete', old.id, old.subject);
    INSERT INTO tickets_subject_search (rowid, subject) VALUES (new.id, new.subject);
END;
