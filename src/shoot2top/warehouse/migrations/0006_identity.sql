-- Identity and attribution (docs/warehouse.md, "Identity"): a retweet credits the original
-- tweet and is only a link for the retweeter; the versions of an edited tweet are one item
-- keyed by the original id; a Facebook post of the Page's own video, the Video node and a
-- live video of the same upload are one item keyed by the video id.
--
-- The items upsert keeps the observation with the greatest
-- (edit_version, detailed, last_observed_at, observation_digest): the newest version of an
-- edited tweet wins whatever the observation times, and an observation that does not know
-- the item's attributes (a lookup without `includes`, a post of a video without its length)
-- never replaces one that does. Rows loaded before this migration count as detailed.
ALTER TABLE items ADD COLUMN edit_version integer NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN detailed boolean NOT NULL DEFAULT true;

-- Other ids of an item: the versions of an edited tweet ('edit'), the Page post of a video
-- ('post'), the LiveVideo of a broadcast ('live_video').
CREATE TABLE item_aliases (
    platform  text NOT NULL,
    alias_id  text NOT NULL,
    item_id   text NOT NULL,
    kind      text NOT NULL,
    PRIMARY KEY (platform, alias_id, item_id, kind)
);
CREATE INDEX item_aliases_by_item ON item_aliases (platform, item_id);

-- Who pointed at what: retweets (the referencing id is the retweet, which is no item),
-- quotes and replies (the referencing id is the quoting or replying item).
CREATE TABLE item_references (
    platform        text        NOT NULL,
    referencing_id  text        NOT NULL,
    kind            text        NOT NULL,
    referenced_id   text        NOT NULL,
    publisher_id    text,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (platform, referencing_id, kind, referenced_id)
);
CREATE INDEX item_references_by_referenced ON item_references (platform, referenced_id, kind);
