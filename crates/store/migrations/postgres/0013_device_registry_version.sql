-- The device registry's version (postgres). A SIP receiver keeps the devices
-- it authenticated in memory (a database query per heartbeat costs more than
-- the rest of answering it) and looks at this number at most once a second:
-- when it has changed, it forgets them all. Every change that a receiver
-- must see bumps it: a device disabled, its credentials, person, unit, cid,
-- type or heartbeat changed, or the device removed, whoever made the change
-- (a server, `trygg admin` in another process, or SQL by hand). What a
-- receiver writes itself (last seen, silence) does not.

CREATE TABLE device_registry (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO device_registry (id, version) VALUES (1, 0);

CREATE FUNCTION device_registry_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE device_registry SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER devices_changed AFTER UPDATE OF
    tenant_id, unit_id, person_id, sip_user, cid, device_type, ha1_md5, ha1_sha256,
    heartbeat_s, disabled_at
ON devices FOR EACH STATEMENT EXECUTE FUNCTION device_registry_bump();

CREATE TRIGGER devices_removed AFTER DELETE ON devices
FOR EACH STATEMENT EXECUTE FUNCTION device_registry_bump();
