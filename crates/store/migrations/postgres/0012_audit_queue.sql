-- Appends go to a queue; the sequencer moves them into the log (postgres).
-- Every append used to insert into audit_entries, whose indexes by person
-- and by actor take each entry at a random place, and the sequencer then
-- updated each row (a new row version and a new entry in every index). Now
-- an append (in the transaction of the write it records, or in a group
-- commit) inserts into audit_queue, which has no index but its row number,
-- with its leaf hash (entries queued before this migration get theirs from
-- the sequencer). The sequencer takes queued entries in row order, gives
-- each its place in the Merkle tree, and moves them into audit_entries with
-- one INSERT … SELECT per round. Readers of the log read both tables. Row
-- numbers are taken when a row is inserted, so one committed later may have
-- a smaller number: it is simply taken in a later round.

CREATE TABLE audit_queue (
    n          BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL,
    tenant_id  TEXT REFERENCES tenants(id),
    at         BIGINT NOT NULL,
    person_id  TEXT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    unit_id    TEXT,
    outcome    TEXT NOT NULL,
    ground     TEXT NOT NULL,
    method     TEXT,
    loa        TEXT,
    request_id TEXT,
    details    BYTEA,
    body       BYTEA NOT NULL,
    leaf_hash  BYTEA
);
INSERT INTO audit_queue (id, tenant_id, at, person_id, actor, action, unit_id, outcome, ground,
                         method, loa, request_id, details, body)
    SELECT id, tenant_id, at, person_id, actor, action, unit_id, outcome, ground,
           method, loa, request_id, details, body
    FROM audit_entries WHERE seq IS NULL ORDER BY id;
DELETE FROM audit_entries WHERE seq IS NULL;
DROP INDEX audit_pending;
ALTER TABLE audit_entries ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit_entries ALTER COLUMN leaf_hash SET NOT NULL;
