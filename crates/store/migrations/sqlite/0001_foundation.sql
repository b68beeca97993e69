-- Foundation (SQLite): tenants, units, staff, persons, relatives, care relationships, keys.
-- Personal data columns are BLOBs holding AES-256-GCM-SIV ciphertext under the
-- owner's data key; *_bidx columns hold keyed HMACs for exact lookup.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE key_domains (
    name        TEXT PRIMARY KEY,
    kek_id      TEXT NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    org_number  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('municipality', 'region', 'private_provider')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE data_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kek_id      TEXT NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX data_keys_kek ON data_keys (kek_id);

CREATE TABLE units (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    parent_id   TEXT REFERENCES units(id),
    name        TEXT NOT NULL,
    hsa_id      TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE staff (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    data_key_id          TEXT REFERENCES data_keys(id),
    given_name           BLOB,
    family_name          BLOB,
    identity_number      BLOB,
    hsa_id               BLOB,
    email                BLOB,
    phone                BLOB,
    identity_number_bidx BLOB,
    hsa_id_bidx          BLOB,
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    erased_at            INTEGER
);
CREATE UNIQUE INDEX staff_identity_number ON staff (tenant_id, identity_number_bidx);
CREATE UNIQUE INDEX staff_hsa_id ON staff (tenant_id, hsa_id_bidx);

CREATE TABLE role_assignments (
    staff_id    TEXT NOT NULL REFERENCES staff(id),
    unit_id     TEXT NOT NULL REFERENCES units(id),
    role        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (staff_id, unit_id, role)
);

CREATE TABLE persons (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    data_key_id          TEXT REFERENCES data_keys(id),
    identity_number      BLOB,
    given_name           BLOB,
    family_name          BLOB,
    address              BLOB,
    phone                BLOB,
    email                BLOB,
    identity_number_bidx BLOB,
    protected_identity   INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    erased_at            INTEGER
);
CREATE UNIQUE INDEX persons_identity_number ON persons (tenant_id, identity_number_bidx);

CREATE TABLE relatives (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    person_id            TEXT NOT NULL REFERENCES persons(id),
    given_name           BLOB,
    family_name          BLOB,
    identity_number      BLOB,
    relation             BLOB,
    phone                BLOB,
    email                BLOB,
    identity_number_bidx BLOB,
    created_at           INTEGER NOT NULL
);
CREATE INDEX relatives_person ON relatives (person_id);
CREATE INDEX relatives_identity_number ON relatives (tenant_id, identity_number_bidx);

CREATE TABLE care_relationships (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    person_id   TEXT NOT NULL REFERENCES persons(id),
    staff_id    TEXT REFERENCES staff(id),
    unit_id     TEXT REFERENCES units(id),
    valid_from  INTEGER NOT NULL,
    valid_until INTEGER,
    created_at  INTEGER NOT NULL,
    CHECK ((staff_id IS NULL) <> (unit_id IS NULL)),
    CHECK (valid_until IS NULL OR valid_until > valid_from)
);
CREATE INDEX care_relationships_person ON care_relationships (person_id);
CREATE INDEX care_relationships_staff ON care_relationships (staff_id);
CREATE INDEX care_relationships_unit ON care_relationships (unit_id);
