-- Appends go to a queue; the sequencer moves them into the log (sqlite).
-- Every append used to insert into audit_entries, whose indexes by person
-- and by actor take each entry at a random place: each commit wrote about
-- two index pages per entry, which capped appends far below what the disk
-- allows. Now an append (in the transaction of the write it records, or in
-- a group commit) inserts into audit_queue, which has no index but its row
-- number, so appends only ever add to its end; each comes with its leaf
-- hash (entries queued before this migration get theirs from the sequencer).
-- The sequencer takes queued entries in row order, gives each its place in
-- the Merkle tree, and moves them into audit_entries with one INSERT …
-- SELECT per round: the indexes are then updated for thousands of entries
-- at once. Readers of the log read both tables.
--
-- audit_entries is rebuilt with `seq` as its row number: every row in it is
-- integrated (seq and leaf_hash set), and one index fewer is kept.

CREATE TABLE audit_queue (
    n          INTEGER PRIMARY KEY,
    id         TEXT NOT NULL,
    tenant_id  TEXT REFERENCES tenants(id),
    at         INTEGER NOT NULL,
    person_id  TEXT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    unit_id    TEXT,
    outcome    TEXT NOT NULL,
    ground     TEXT NOT NULL,
    method     TEXT,
    loa        TEXT,
    request_id TEXT,
    details    BLOB,
    body       BLOB NOT NULL,
    leaf_hash  BLOB
);
INSERT INTO audit_queue (id, tenant_id, at, person_id, actor, action, unit_id, outcome, ground,
                         method, loa, request_id, details, body)
    SELECT id, tenant_id, at, person_id, actor, action, unit_id, outcome, ground,
           method, loa, request_id, details, body
    FROM audit_entries WHERE seq IS NULL ORDER BY id;

CREATE TABLE audit_log (
    id         TEXT NOT NULL UNIQUE,
    seq        INTEGER PRIMARY KEY,
    tenant_id  TEXT REFERENCES tenants(id),
    at         INTEGER NOT NULL,
    person_id  TEXT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    unit_id    TEXT,
    outcome    TEXT NOT NULL,
    ground     TEXT NOT NULL,
    method     TEXT,
    loa        TEXT,
    request_id TEXT,
    details    BLOB,
    body       BLOB NOT NULL,
    leaf_hash  BLOB NOT NULL
);
INSERT INTO audit_log SELECT * FROM audit_entries WHERE seq IS NOT NULL ORDER BY seq;
DROP TABLE audit_entries;
ALTER TABLE audit_log RENAME TO audit_entries;
CREATE INDEX audit_person ON audit_entries (person_id, at);
CREATE INDEX audit_tenant_time ON audit_entries (tenant_id, at);
CREATE INDEX audit_actor_time ON audit_entries (tenant_id, actor, at);
