-- The warehouse: publishers, items, their text features and a metric time series.
-- Natural keys everywhere, so every load is an idempotent upsert (DESIGN.md §5).
-- No foreign keys: loads stay order-free and Redshift would not enforce them anyway.

CREATE TABLE publishers (
    platform          text        NOT NULL,
    publisher_id      text        NOT NULL,
    name              text,
    handle            text,
    followers         bigint,
    last_observed_at  timestamptz NOT NULL,
    PRIMARY KEY (platform, publisher_id)
);

CREATE TABLE items (
    platform           text        NOT NULL,
    item_id            text        NOT NULL,
    item_type          text        NOT NULL,
    publisher_id       text,
    created_at         timestamptz NOT NULL,
    text               text,
    title              text,
    description        text,
    language           text,
    url                text,
    media_type         text,
    duration_s         double precision,
    topic              text,
    first_observed_at  timestamptz NOT NULL,
    last_observed_at   timestamptz NOT NULL,
    raw                jsonb       NOT NULL,
    PRIMARY KEY (platform, item_id)
);
CREATE INDEX items_by_publisher ON items (platform, publisher_id, media_type, created_at DESC);
CREATE INDEX items_by_created ON items (created_at DESC);

CREATE TABLE item_hashtags (
    platform  text NOT NULL,
    item_id   text NOT NULL,
    hashtag   text NOT NULL,
    PRIMARY KEY (platform, item_id, hashtag)
);
CREATE INDEX item_hashtags_by_tag ON item_hashtags (hashtag);

CREATE TABLE item_mentions (
    platform  text NOT NULL,
    item_id   text NOT NULL,
    mention   text NOT NULL,
    PRIMARY KEY (platform, item_id, mention)
);

CREATE TABLE item_urls (
    platform  text NOT NULL,
    item_id   text NOT NULL,
    url       text NOT NULL,
    PRIMARY KEY (platform, item_id, url)
);

CREATE TABLE item_keywords (
    platform  text NOT NULL,
    item_id   text NOT NULL,
    keyword   text NOT NULL,
    PRIMARY KEY (platform, item_id, keyword)
);
CREATE INDEX item_keywords_by_keyword ON item_keywords (keyword);

-- One row per observation: the performance time series of every item.
CREATE TABLE metric_snapshots (
    platform     text        NOT NULL,
    item_id      text        NOT NULL,
    observed_at  timestamptz NOT NULL,
    views        bigint,
    likes        bigint,
    shares       bigint,
    comments     bigint,
    quotes       bigint,
    PRIMARY KEY (platform, item_id, observed_at)
);

-- Items the database refused, with its reason; the fingerprint keeps replays idempotent.
CREATE TABLE dead_letters (
    fingerprint  text        PRIMARY KEY,
    component    text        NOT NULL,
    reason       text        NOT NULL,
    platform     text,
    item_id      text,
    observed_at  timestamptz,
    item         text        NOT NULL
);
