-- The care record and what decides access to it (SQLite).
-- Free text (plans, notes, emergency reasons) is sealed under the person's
-- data key. Documentation belongs to the unit that wrote it (owner_unit_id).

CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    person_id    TEXT NOT NULL REFERENCES persons(id),
    unit_id      TEXT NOT NULL REFERENCES units(id),
    given_at     INTEGER NOT NULL,
    withdrawn_at INTEGER
);
CREATE INDEX consents_person ON consents (person_id);

CREATE TABLE blocks (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    person_id  TEXT NOT NULL REFERENCES persons(id),
    unit_id    TEXT NOT NULL REFERENCES units(id),
    created_at INTEGER NOT NULL,
    lifted_at  INTEGER
);
CREATE INDEX blocks_person ON blocks (person_id);

CREATE TABLE relative_grants (
    relative_id TEXT NOT NULL REFERENCES relatives(id),
    part        TEXT NOT NULL CHECK (part IN ('overview', 'contact', 'care_plan', 'visit_notes')),
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (relative_id, part)
);

CREATE TABLE emergency_accesses (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    person_id      TEXT NOT NULL REFERENCES persons(id),
    staff_id       TEXT NOT NULL REFERENCES staff(id),
    reason         BLOB NOT NULL,
    started_at     INTEGER NOT NULL,
    until          INTEGER NOT NULL,
    followed_up_at INTEGER,
    followed_up_by TEXT REFERENCES staff(id),
    follow_up_note BLOB
);
CREATE INDEX emergency_person ON emergency_accesses (person_id);
CREATE INDEX emergency_open ON emergency_accesses (tenant_id, followed_up_at);

CREATE TABLE care_plan_versions (
    person_id     TEXT NOT NULL REFERENCES persons(id),
    owner_unit_id TEXT NOT NULL REFERENCES units(id),
    version       INTEGER NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    body          BLOB NOT NULL,
    author_id     TEXT NOT NULL REFERENCES staff(id),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (person_id, owner_unit_id, version)
);

CREATE TABLE visit_notes (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    person_id     TEXT NOT NULL REFERENCES persons(id),
    owner_unit_id TEXT NOT NULL REFERENCES units(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX visit_notes_person ON visit_notes (person_id, owner_unit_id);

CREATE TABLE visit_note_versions (
    note_id    TEXT NOT NULL REFERENCES visit_notes(id),
    version    INTEGER NOT NULL,
    body       BLOB NOT NULL,
    author_id  TEXT NOT NULL REFERENCES staff(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (note_id, version)
);
