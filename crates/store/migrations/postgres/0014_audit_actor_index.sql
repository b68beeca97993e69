-- No index by actor on the audit log on SQLite (see the sqlite migration of
-- the same number). PostgreSQL keeps audit_actor_time: it plans the log
-- review's query for the values bound, and with a staff filter searches
-- that index. Nothing changes here.

SELECT 1;
