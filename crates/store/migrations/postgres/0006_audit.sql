-- The audit log (postgres). Every access to personal data appends one entry, in
-- the transaction of the write it records or before a read's response.
-- Persons and staff are named by opaque ids; sensitive details (an emergency
-- access's reason) are sealed under the person's data key. `body` is the
-- canonical encoding of the entry (with the sealed details): the Merkle leaf
-- hashes exactly these bytes, so erasing a person (destroying their key)
-- leaves every hash verifiable. `seq` and `leaf_hash` are set when the
-- entry is integrated into the tree; audit_checkpoints holds the signed
-- checkpoints (tree size, root, time) in the signed-note text format.

CREATE TABLE audit_entries (
    id         TEXT PRIMARY KEY,
    seq        BIGINT UNIQUE,
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
CREATE INDEX audit_person ON audit_entries (person_id, at);
CREATE INDEX audit_tenant_time ON audit_entries (tenant_id, at);
CREATE INDEX audit_pending ON audit_entries (id) WHERE seq IS NULL;

CREATE TABLE audit_checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    at   BIGINT NOT NULL,
    note TEXT NOT NULL
);
