-- One-time codes (TOTP, RFC 6238) for staff, used to step up a session that
-- began with an e-ID. The secret is sealed under the "secrets" key domain;
-- last_step makes every code usable once.
CREATE TABLE staff_totp (
    staff_id   TEXT PRIMARY KEY REFERENCES staff(id),
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    secret     BYTEA NOT NULL,
    last_step  BIGINT NOT NULL DEFAULT 0,
    confirmed  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
