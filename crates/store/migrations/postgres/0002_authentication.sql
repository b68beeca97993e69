-- Authentication (PostgreSQL): sessions, login flows in progress, passkeys, and
-- the local bootstrap administrator. Session and flow tokens are stored only
-- as SHA-256 hashes, so a copy of the database gives no live session.

CREATE TABLE sessions (
    token_hash       BYTEA PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('staff', 'person', 'relative', 'bootstrap_admin')),
    tenant_id        TEXT REFERENCES tenants(id),
    staff_id         TEXT REFERENCES staff(id),
    person_id        TEXT REFERENCES persons(id),
    relative_id      TEXT REFERENCES relatives(id),
    admin_name       TEXT,
    method           TEXT NOT NULL,
    provider         TEXT NOT NULL,
    loa              TEXT NOT NULL,
    authenticated_at BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX sessions_staff ON sessions (staff_id);
CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_relative ON sessions (relative_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_flows (
    token_hash  BYTEA PRIMARY KEY,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX login_flows_expires ON login_flows (expires_at);

CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,
    credential_id  BYTEA NOT NULL UNIQUE,
    kind           TEXT NOT NULL CHECK (kind IN ('staff', 'person', 'relative')),
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    staff_id       TEXT REFERENCES staff(id),
    person_id      TEXT REFERENCES persons(id),
    relative_id    TEXT REFERENCES relatives(id),
    passkey        TEXT NOT NULL,
    registered_loa TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX passkeys_staff ON passkeys (staff_id);
CREATE INDEX passkeys_person ON passkeys (person_id);

CREATE TABLE bootstrap_admins (
    name            TEXT PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    totp_secret     BYTEA NOT NULL,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);
