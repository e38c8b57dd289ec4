-- Word search also finds a listing by its category ("garden" finds an offer in Garden).
-- An external-content FTS5 table can't gain a column, so it is made again and rebuilt.
DROP TRIGGER listings_fts_insert;
DROP TRIGGER listings_fts_delete;
DROP TRIGGER listings_fts_update;
DROP TABLE listings_fts;

CREATE VIRTUAL TABLE listings_fts USING fts5 (
    body, when_where, category, content = 'listings', content_rowid = 'id'
);
INSERT INTO listings_fts (listings_fts) VALUES ('rebuild');

CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts (rowid, body, when_where, category)
    VALUES (new.id, new.body, new.when_where, new.category);
END;
CREATE TRIGGER listings_fts_delete AFTER DELETE ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, body, when_where, category)
    VALUES ('delete', old.id, old.body, old.when_where, old.category);
END;
CREATE TRIGGER listings_fts_update AFTER UPDATE OF body, when_where, category ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, body, when_where, category)
    VALUES ('delete', old.id, old.body, old.when_where, old.category);
    INSERT INTO listings_fts (rowid, body, when_where, category)
    VALUES (new.id, new.body, new.when_where, new.category);
END;
