-- Foundation (PostgreSQL): tenants, units, staff, persons, relatives, care relationships, keys.
-- Personal data columns are BLOBs holding AES-256-GCM-SIV ciphertext under the
-- owner's data key; *_bidx columns hold keyed HMACs for exact lookup.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE key_domains (
    name        TEXT PRIMARY KEY,
    kek_id      TEXT NOT NULL,
    wrapped     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    org_number  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('municipality', 'region', 'private_provider')),
    created_at  BIGINT NOT NULL
);

CREATE TABLE data_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kek_id      TEXT NOT NULL,
    wrapped     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX data_keys_kek ON data_keys (kek_id);

CREATE TABLE units (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    parent_id   TEXT REFERENCES units(id),
    name        TEXT NOT NULL,
    hsa_id      TEXT,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE staff (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    data_key_id          TEXT REFERENCES data_keys(id),
    given_name           BYTEA,
    family_name          BYTEA,
    identity_number      BYTEA,
    hsa_id               BYTEA,
    email                BYTEA,
    phone                BYTEA,
    identity_number_bidx BYTEA,
    hsa_id_bidx          BYTEA,
    disabled             BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    erased_at            BIGINT
);
CREATE UNIQUE INDEX staff_identity_number ON staff (tenant_id, identity_number_bidx);
CREATE UNIQUE INDEX staff_hsa_id ON staff (tenant_id, hsa_id_bidx);

CREATE TABLE role_assignments (
    staff_id    TEXT NOT NULL REFERENCES staff(id),
    unit_id     TEXT NOT NULL REFERENCES units(id),
    role        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (staff_id, unit_id, role)
);

CREATE TABLE persons (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    data_key_id          TEXT REFERENCES data_keys(id),
    identity_number      BYTEA,
    given_name           BYTEA,
    family_name          BYTEA,
    address              BYTEA,
    phone                BYTEA,
    email                BYTEA,
    identity_number_bidx BYTEA,
    protected_identity   BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    erased_at            BIGINT
);
CREATE UNIQUE INDEX persons_identity_number ON persons (tenant_id, identity_number_bidx);

CREATE TABLE relatives (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    person_id            TEXT NOT NULL REFERENCES persons(id),
    given_name           BYTEA,
    family_name          BYTEA,
    identity_number      BYTEA,
    relation             BYTEA,
    phone                BYTEA,
    email                BYTEA,
    identity_number_bidx BYTEA,
    created_at           BIGINT NOT NULL
);
CREATE INDEX relatives_person ON relatives (person_id);
CREATE INDEX relatives_identity_number ON relatives (tenant_id, identity_number_bidx);

CREATE TABLE care_relationships (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    person_id   TEXT NOT NULL REFERENCES persons(id),
    staff_id    TEXT REFERENCES staff(id),
    unit_id     TEXT REFERENCES units(id),
    valid_from  BIGINT NOT NULL,
    valid_until BIGINT,
    created_at  BIGINT NOT NULL,
    CHECK ((staff_id IS NULL) <> (unit_id IS NULL)),
    CHECK (valid_until IS NULL OR valid_until > valid_from)
);
CREATE INDEX care_relationships_person ON care_relationships (person_id);
CREATE INDEX care_relationships_staff ON care_relationships (staff_id);
CREATE INDEX care_relationships_unit ON care_relationships (unit_id);
