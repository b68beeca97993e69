-- Disposal of audit entries older than the retention period (sqlite). The first
-- `size` entries of the tree were removed; what remains of them is the tree's
-- compact frontier at that size (the heads of its perfect subtrees, 32 bytes
-- each, left to right) and the signed checkpoint at that size, so the rest of
-- the log still verifies and still proves. No personal data: hashes, sizes,
-- times, and the operator's name for the disposal.

CREATE TABLE audit_disposals (
    id         TEXT PRIMARY KEY,
    at         INTEGER NOT NULL,
    operator   TEXT NOT NULL,
    cutoff     INTEGER NOT NULL,
    size       INTEGER NOT NULL UNIQUE,
    frontier   BLOB NOT NULL,
    checkpoint TEXT NOT NULL,
    removed    INTEGER NOT NULL
);
