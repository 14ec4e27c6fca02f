"""`shoot2top report amplification`: who spread whose posts — per amplified item, its
retweets and quotes by other publishers in a window, by how many publishers, when, who.

The figures are the SQL function `reports.amplification_between` (migration
0011_amplification, also the view `reports.amplification` for BI tools); this module
only chooses the window and the rows. An original the warehouse never observed keeps
its id with an unknown publisher, title and publication time (None, never 0).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

AMPLIFICATION_COLUMNS = (
    "platform", "item_id", "publisher_id", "publisher", "title", "published", "retweets",
    "quotes", "amplifiers", "first_at", "last_at", "amplified_by",
)  # fmt: skip
"""Every column, in order: also the header of an empty CSV."""
AMPLIFICATION_TABLE_COLUMNS = (
    "publisher", "title", "retweets", "quotes", "amplifiers", "amplified_by", "last_at",
)  # fmt: skip
"""What a terminal table shows unless ``--columns`` says otherwise, most important first."""

_SQL = """
SELECT platform, item_id, publisher_id, publisher, title, published, retweets, quotes,
       amplifiers, first_at, last_at, amplified_by
FROM reports.amplification_between(%(since)s, %(until)s)
WHERE (%(platform)s::text IS NULL OR platform = %(platform)s)
  AND (%(publisher)s::text IS NULL OR publisher_id = %(publisher)s)
ORDER BY retweets + quotes DESC, amplifiers DESC NULLS LAST, last_at DESC,
         platform, item_id COLLATE "C"
"""


def amplification_report(
    connection: Any,
    now: datetime,
    hours: float,
    *,
    platform: str | None = None,
    publisher: str | None = None,
) -> list[dict[str, Any]]:
    """Items retweeted or quoted by other publishers in the `hours` before `now` (of one
    platform, or of one publisher's posts), the most amplified first."""
    if not hours > 0:
        raise ValueError(f"hours must be > 0, got {hours}")
    with connection.cursor() as cursor:
        cursor.execute(
            _SQL,
            {
                "since": now - timedelta(hours=hours),
                "until": now,
                "platform": platform,
                "publisher": publisher,
            },
        )
        names = [description[0] for description in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    connection.rollback()
    return rows


def latest_amplification(connection: Any) -> datetime | None:
    """When the newest retweet or quote by another publisher was made (None: none yet)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(last_at) FROM reports.amplification")
        (moment,) = cursor.fetchone()
    connection.rollback()
    return moment
