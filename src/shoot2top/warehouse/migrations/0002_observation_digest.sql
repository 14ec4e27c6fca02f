-- Two copies of an observation with the same observed time (a redelivery that changed in
-- transit, an item never stamped with `_observed_at`) must resolve the same way whatever
-- the order or batching: the row keeps the observation with the greatest
-- (observed time, digest of its JSON text).
ALTER TABLE publishers ADD COLUMN observation_digest text NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN observation_digest text NOT NULL DEFAULT '';
ALTER TABLE metric_snapshots ADD COLUMN observation_digest text NOT NULL DEFAULT '';
