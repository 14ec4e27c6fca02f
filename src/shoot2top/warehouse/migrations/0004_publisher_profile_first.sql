-- A publisher's name, handle and followers come from the newest observation that carries
-- them: an observation without the publisher's profile (an X tweet without its author in
-- `includes`, a Graph object without `from.name`) must not blank them. The upsert
-- compares (profiled, last observed, digest), so any profile beats none, whatever the
-- order or batching.
ALTER TABLE publishers ADD COLUMN profiled boolean NOT NULL DEFAULT false;
UPDATE publishers
SET profiled = (name IS NOT NULL OR handle IS NOT NULL OR followers IS NOT NULL);
