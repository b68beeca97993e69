-- Safety alarms (postgres): the device registry and received alarms.
--
-- A device is provisioned for one person in one unit. Its SIP Digest
-- credentials are stored only as HA1 values (H(user:realm:password)), sealed
-- under the installation's secrets key: a stolen database file reveals no
-- credential. The SIP user name and the SCAIP controller id (cid) are device
-- serials, not personal data; they link to the person only through
-- person_id.
--
-- An alarm is identified by (device, ref): a device repeats a request with
-- the same ref until it is answered, so a repeat must find the stored alarm
-- and never make a second one. Devices reuse refs after a while, so only the
-- live alarm of a ref is unique (ref_live = 1); a ref not repeated within the
-- repeat window is retired (ref_live = 0) before a new alarm takes it. The
-- request itself (positions, texts) is sealed under the person's data key.
--
-- Supervision: last_seen_at is when the device was last heard (written in
-- batches, not per heartbeat), due_at when its next heartbeat is due (so
-- the overdue are found through an index); silent_since is set when a
-- missed heartbeat raised a technical alarm, and cleared when the device is
-- heard again.

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    unit_id       TEXT NOT NULL REFERENCES units(id),
    person_id     TEXT NOT NULL REFERENCES persons(id),
    sip_user      TEXT NOT NULL UNIQUE,
    cid           TEXT NOT NULL,
    device_type   BIGINT NOT NULL,
    ha1_md5       BYTEA NOT NULL,
    ha1_sha256    BYTEA NOT NULL,
    heartbeat_s   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT,
    last_seen_at  BIGINT,
    due_at        BIGINT NOT NULL,
    silent_since  BIGINT
);
CREATE UNIQUE INDEX devices_cid ON devices (tenant_id, cid);
CREATE INDEX devices_person ON devices (person_id);
CREATE INDEX devices_due ON devices (due_at) WHERE silent_since IS NULL;

CREATE TABLE alarms (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    device_id       TEXT NOT NULL REFERENCES devices(id),
    person_id       TEXT NOT NULL REFERENCES persons(id),
    unit_id         TEXT NOT NULL REFERENCES units(id),
    ref             TEXT NOT NULL,
    ref_live        BIGINT NOT NULL DEFAULT 1,
    kind            TEXT NOT NULL,
    status_code     BIGINT,
    priority        BIGINT,
    request         BYTEA NOT NULL,
    received_at     BIGINT NOT NULL,
    last_repeat_at  BIGINT NOT NULL,
    repeats         BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL DEFAULT 'received'
);
CREATE UNIQUE INDEX alarms_live_ref ON alarms (device_id, ref) WHERE ref_live = 1;
CREATE INDEX alarms_unit_state ON alarms (tenant_id, unit_id, state, received_at);
