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
        """Stage -> table. Versioned rows take the newest observation; sets add new keys.

        A row's ``first_observed_at`` keeps the earliest, also when the staged
        observation is older than the table's (then it is all that changes).
        """
        columns = ", ".join(self.columns)
        insert = (
            f"INSERT INTO {self.name} AS target ({columns}) "
            f"SELECT {columns} FROM {self.stage} ON CONFLICT ({', '.join(self.key)}) "
        )
        if not self.version:
            return insert + "DO NOTHING"
        newer = (
            f"({', '.join(f'excluded.{column}' for column in self.version)}) > "
            f"({', '.join(f'target.{column}' for column in self.version)})"
        )
        updated = [c for c in self.columns if c not in self.key and c != FIRST_OBSERVED]
        if FIRST_OBSERVED not in self.columns:
            updates = ", ".join(f"{column} = excluded.{column}" for column in updated)
            return insert + f"DO UPDATE SET {updates} WHERE {newer}"
        updates = ", ".join(
            f"{column} = CASE WHEN {newer} THEN excluded.{column} ELSE target.{column} END"
            for column in updated
        )
        earlier = f"excluded.{FIRST_OBSERVED} < target.{FIRST_OBSERVED}"
        return insert + (
            f"DO UPDATE SET {updates}, {FIRST_OBSERVED} = "
            f"least(excluded.{FIRST_OBSERVED}, target.{FIRST_OBSERVED}) "
            f"WHERE {newer} OR {earlier}"
        )

    def clear_stage(self) -> str:
        return f"TRUNCATE {self.stage}"


FIRST_OBSERVED = "first_observed_at"
LATEST = ("last_observed_at", "observation_digest")
PUBLISHERS = Table(
    "publishers",
    ("platform", "publisher_id", "name", "handle", "followers", "profiled",
     "last_observed_at", "observation_digest"),
    ("platform", "publisher_id"),
    version=("profiled", *LATEST),  # a profile beats none (migration 0004)
)  # fmt: skip
ITEMS = Table(
    "items",
    (
        "platform", "item_id", "item_type", "publisher_id", "created_at", "text", "title",
        "description", "language", "url", "media_type", "duration_s", "topic",
        "first_observed_at", "last_observed_at", "observation_digest", "edit_version",
        "detailed",
        "raw",  # last: the loader renders it from bytes
    ),
    ("platform", "item_id"),
    # the newest edit, then an observation knowing the attributes (migration 0006)
    version=("edit_version", "detailed", *LATEST),
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
ALIASES = Table(
    "item_aliases",
    ("platform", "alias_id", "item_id", "kind"),
    ("platform", "alias_id", "item_id", "kind"),
)
REFERENCES = Table(
    "item_references",
    ("platform", "referencing_id", "kind", "referenced_id", "publisher_id", "created_at"),
    ("platform", "referencing_id", "kind", "referenced_id"),
)
SNAPSHOTS = Table(
    "metric_snapshots",
    ("platform", "item_id", "observed_at", "views", "likes", "shares", "comments", "quotes",
     "observation_digest"),
    ("platform", "item_id", "observed_at"),
    version=("observation_digest",),
)  # fmt: skip
LOADED_TABLES = (
    PUBLISHERS, ITEMS, HASHTAGS, MENTIONS, URLS, KEYWORDS, ALIASES, REFERENCES, SNAPSHOTS,
)  # fmt: skip

INSERT_DEAD_LETTER = (
    "INSERT INTO dead_letters "
    "(fingerprint, component, reason, platform, item_id, observed_at, item) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (fingerprint) DO NOTHING"
)

COMMIT_CHANNEL = "shoot2top_commits"
"""Every committed batch says so on this channel (NOTIFY is delivered at commit, and only
if the transaction commits): the dashboard LISTENs to push updates instead of polling.
Redshift has no LISTEN/NOTIFY: there a dashboard would poll."""
NOTIFY_COMMIT = "SELECT pg_notify(%s, %s)"
