-- Permission administration (sqlite). Every role assignment and care
-- relationship records the needs-and-risk analysis it rests on (a document
-- reference, never personal data), who granted it, and when it is due for
-- periodic review. Rows from before this migration have no reference and are
-- due for review at once. A care relationship with a staff member records
-- the unit it was granted in (admin_unit_id), so the same unit's manager
-- decides when it ends.

ALTER TABLE role_assignments ADD COLUMN analysis_ref TEXT;
ALTER TABLE role_assignments ADD COLUMN granted_by TEXT REFERENCES staff(id);
ALTER TABLE role_assignments ADD COLUMN review_due_at INTEGER;

ALTER TABLE care_relationships ADD COLUMN analysis_ref TEXT;
ALTER TABLE care_relationships ADD COLUMN granted_by TEXT REFERENCES staff(id);
ALTER TABLE care_relationships ADD COLUMN review_due_at INTEGER;
ALTER TABLE care_relationships ADD COLUMN admin_unit_id TEXT REFERENCES units(id);
ALTER TABLE care_relationships ADD COLUMN ended_by TEXT REFERENCES staff(id);
CREATE INDEX role_assignments_unit ON role_assignments (unit_id);
