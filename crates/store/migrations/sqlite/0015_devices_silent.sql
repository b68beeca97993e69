-- The devices reported silent, found through an index (sqlite). Supervision
-- asks for them every round (to tell which of the devices heard since are
-- heard again); without an index that read every row of the registry, a
-- scan of the whole table every ten seconds at 300,000 devices. Silent
-- devices are few, so the index is small.

CREATE INDEX devices_silent ON devices (silent_since) WHERE silent_since IS NOT NULL;
