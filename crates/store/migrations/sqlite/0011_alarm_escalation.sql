-- Alarms nobody takes in time, and what the device reports itself (sqlite).
-- escalated_at: when an alarm still untaken after alarm_escalate_after_secs
-- was escalated (shown first and marked in every console of its unit).
-- checked_out_at: when the device reported check-out (SCAIP 0111: the
-- intervention is complete); the alarm then waits for its closing note.

ALTER TABLE alarms ADD COLUMN escalated_at INTEGER;
ALTER TABLE alarms ADD COLUMN checked_out_at INTEGER;
CREATE INDEX alarms_untaken ON alarms (received_at) WHERE state = 'received' AND escalated_at IS NULL;
