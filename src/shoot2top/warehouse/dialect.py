"""The SQL that depends on the database: staging tables and idempotent upserts.

Everything here is PostgreSQL. On Redshift (no ``ON CONFLICT``), each upsert becomes,
on the same staging tables: delete from the stage the rows older than the target's
(``DELETE FROM stage USING target WHERE keys match AND stage.last_observed_at <
target.last_observed_at``), then ``MERGE INTO target USING stage ON keys WHEN MATCHED
THEN UPDATE … WHEN NOT MATCHED THEN INSERT …``; the set tables (hashtags, snapshots, …)
become ``INSERT … SELECT … WHERE NOT EXISTS``. Only this module changes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A warehouse table loaded through a staging table of the same columns."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    # The columns ordering observations: the row keeps the greatest; none = a set
    version: tuple[str, ...] = ()

    @property
    def stage(self) -> str:
        return f"stage_{self.name}"

    def create_stage(self) -> str:
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} "
            f"(LIKE {self.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )

    def copy_into_stage(self) -> str:
        return f"COPY {self.stage} ({', '.join(self.columns)}) FROM STDIN"

    def upsert(self) -> str:
        columns = ", ".join(self.columns)
        insert = (
            f"INSERT INTO {self.name} AS target ({columns}) "
            f"SELECT {columns} FROM {self.stage} ON CONFLICT ({', '.join(self.key)}) "
        )
        if not self.version:
            return insert + "DO NOTHING"
        updates = ", ".join(
            f"{column} = excluded.{column}"
            for column in self.columns
            if column not in self.key and column != "first_observed_at"
        )
        newer = ", ".join(f"excluded.{column}" for column in self.version)
        current = ", ".join(f"target.{column}" for column in self.version)
        return insert + f"DO UPDATE SET {updates} WHERE ({newer}) > ({current})"

    def clear_stage(self) -> str:
        return f"TRUNCATE {self.stage}"

    def keep_first_observed(self) -> str | None:
        """An item first seen in this batch earlier than the warehouse knew."""
        if "first_observed_at" not in self.columns:
            return None
        match = " AND ".join(f"target.{column} = stage.{column}" for column in self.key)
        return (
            f"UPDATE {self.name} AS target SET first_observed_at = stage.first_observed_at "
            f"FROM {self.stage} AS stage WHERE {match} "
            "AND stage.first_observed_at < target.first_observed_at"
        )


LATEST = ("last_observed_at", "observation_digest")
PUBLISHERS = Table(
    "publishers",
    ("platform", "publisher_id", "name", "handle", "followers", "last_observed_at",
     "observation_digest"),
    ("platform", "publisher_id"),
    version=LATEST,
)  # fmt: skip
ITEMS = Table(
    "items",
    (
        "platform", "item_id", "item_type", "publisher_id", "created_at", "text", "title",
        "description", "language", "url", "media_type", "duration_s", "topic",
        "first_observed_at", "last_observed_at", "raw", "observation_digest",
    ),
    ("platform", "item_id"),
    version=LATEST,
)  # fmt: skip
HASHTAGS = Table(
    "item_hashtags", ("platform", "item_id", "hashtag"), ("platform", "item_id", "hashtag")
)
MENTIONS = Table(
    "item_mentions", ("platform", "item_id", "mention"), ("platform", "item_id", "mention")
)
URLS = Table("item_urls", ("platform", "item_id", "url"), ("platform", "item_id", "url"))
KEYWORDS = Table(
    "item_keywords", ("platform", "item_id", "keyword"), ("platform", "item_id", "keyword")
)
SNAPSHOTS = Table(
    "metric_snapshots",
    ("platform", "item_id", "observed_at", "views", "likes", "shares", "comments", "quotes",
     "observation_digest"),
    ("platform", "item_id", "observed_at"),
    version=("observation_digest",),
)  # fmt: skip
LOADED_TABLES = (PUBLISHERS, ITEMS, HASHTAGS, MENTIONS, URLS, KEYWORDS, SNAPSHOTS)

INSERT_DEAD_LETTER = (
    "INSERT INTO dead_letters "
    "(fingerprint, component, reason, platform, item_id, observed_at, item) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (fingerprint) DO NOTHING"
)
