-- Log review (loggkontroll, postgres). A unit manager or security officer checks
-- a selection of the audit log (a search, the flagged accesses, or a random
-- sample) and records what was checked and what they concluded. The entries
-- are named by their audit ids; the selection is a short code with no
-- personal data; the free-text note may name people and is sealed under the
-- secrets key domain. A conclusion other than "no remarks" waits for its
-- follow-up (closed_at).

CREATE TABLE log_reviews (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    unit_id     TEXT NOT NULL REFERENCES units(id),
    reviewer    TEXT NOT NULL REFERENCES staff(id),
    at          BIGINT NOT NULL,
    period_from BIGINT NOT NULL,
    period_to   BIGINT NOT NULL,
    selection   TEXT NOT NULL,
    entries     TEXT NOT NULL,
    conclusion  TEXT NOT NULL,
    note        BYTEA,
    closed_at   BIGINT,
    closed_by   TEXT REFERENCES staff(id)
);
CREATE INDEX log_reviews_unit ON log_reviews (tenant_id, unit_id, at);
CREATE INDEX audit_actor_time ON audit_entries (tenant_id, actor, at);
