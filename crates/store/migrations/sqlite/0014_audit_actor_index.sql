-- No index by actor on the audit log (sqlite). audit_actor_time took every
-- entry at a random place, in the sequencer's transaction that shares
-- SQLite's one writer with the appends, and no query used it: the log
-- review's staff filter is `($6 IS NULL OR a.actor = $6)`, which SQLite
-- cannot answer from an index, so its plan searches audit_tenant_time by
-- time (checked with EXPLAIN QUERY PLAN). PostgreSQL plans the same query
-- for the values bound and does use the index there; it keeps it.

DROP INDEX audit_actor_time;
