-- Handling an alarm (sqlite): who took it and when, who was dispatched, when
-- staff were on site, and who closed it with which note (sealed under the
-- person's data key). The state moves received → taken → dispatched →
-- on_site → closed; each step is audited in its own transaction.

ALTER TABLE alarms ADD COLUMN taken_by TEXT REFERENCES staff(id);
ALTER TABLE alarms ADD COLUMN taken_at INTEGER;
ALTER TABLE alarms ADD COLUMN dispatched_to TEXT REFERENCES staff(id);
ALTER TABLE alarms ADD COLUMN dispatched_at INTEGER;
ALTER TABLE alarms ADD COLUMN on_site_at INTEGER;
ALTER TABLE alarms ADD COLUMN closed_by TEXT REFERENCES staff(id);
ALTER TABLE alarms ADD COLUMN closed_at INTEGER;
ALTER TABLE alarms ADD COLUMN close_note BLOB;
CREATE INDEX alarms_person ON alarms (tenant_id, person_id, received_at);
