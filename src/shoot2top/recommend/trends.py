"""The trends the recommendations take as input: records of (term, kind, score, times…)
from the trends stage's warehouse table, from a file, or built by the caller.

The cross-promotion and terms products do not depend on how trends are detected: they
take a list of `ActiveTrend`. `active_trends` reads the ones active at a moment from the
warehouse's ``trends`` table (written by the trends stage); `read_trends_file` reads
the stage's records (JSON array or JSON lines, bare or as ``{"trend": record}``
streamable objects) so a run without that table can still pass trends in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shoot2top import codec
from shoot2top.recommend.catalog import RecommendError

TABLE = "trends"
REQUIRED_COLUMNS = ("term", "kind", "detected_at", "ended_at")
SIGNS = {"#": "hashtag", "$": "cashtag", "@": "mention"}
MAX_AGE = timedelta(hours=24)  # a trend never reported ended counts as active this long


class TrendsUnavailable(RecommendError):
    """The warehouse holds no trends to read; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class ActiveTrend:
    term: str  # normalized, without its sign: "derbyday", "hailstorm"
    kind: str  # hashtag | keyword | cashtag | mention
    score: float | None = None
    onset_at: datetime | None = None
    detected_at: datetime | None = None
    ended_at: datetime | None = None
    scope: str = "all"  # all, or the one platform it trends on
    volume: int | None = None
    top_items: tuple[tuple[str, str], ...] = ()  # (platform, item id)

    @property
    def label(self) -> str:
        sign = {kind: sign for sign, kind in SIGNS.items()}.get(self.kind, "")
        return sign + self.term

    def applies_to(self, platform: str) -> bool:
        return self.scope in ("all", platform)

    def active_at(self, now: datetime, max_age: timedelta = MAX_AGE) -> bool:
        """Detected (or begun) by `now`, not ended, and not older than `max_age`."""
        start = self.detected_at or self.onset_at
        if start is not None and not now - max_age < start <= now:
            return False
        return self.ended_at is None or self.ended_at > now


def normalize_term(term: str, kind: str | None = None) -> tuple[str, str]:
    """(term without sign, NFKC-casefolded as the warehouse's features are; kind)."""
    text = unicodedata.normalize("NFKC", term).strip().casefold()
    if text[:1] in SIGNS:
        kind = kind or SIGNS[text[:1]]
        text = text[1:]
    return text, kind or "keyword"


def trend_from_record(record: Any, where: str) -> ActiveTrend:
    """A trend from one record of the trends stage (or a hand-written one: only `term`
    is required; `kind` defaults from its sign, else keyword)."""
    if isinstance(record, Mapping) and isinstance(record.get("trend"), Mapping):
        record = record["trend"]  # a streamable trend event
    if not isinstance(record, Mapping):
        raise RecommendError(f"{where}: a trend is a JSON object, got {type(record).__name__}")
    term = record.get("term")
    if not isinstance(term, str) or not term.strip():
        raise RecommendError(f"{where}: trend has no 'term' (got {term!r})")
    kind = record.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise RecommendError(f"{where}: trend 'kind' must be a string, got {kind!r}")
    bare, kind = normalize_term(term, kind)
    try:
        return ActiveTrend(
            term=bare,
            kind=kind,
            score=_number(record.get("score"), float),
            onset_at=_time(record.get("onset_at")),
            detected_at=_time(record.get("detected_at")),
            ended_at=_time(record.get("ended_at")),
            scope=str(record.get("scope") or "all"),
            volume=_number(record.get("volume"), int),
            top_items=_top_items(record.get("top_items")),
        )
    except (TypeError, ValueError) as error:
        raise RecommendError(f"{where}: trend {term!r}: {error}") from None


def read_trends_file(path: str | Path) -> list[ActiveTrend]:
    """Trends from a JSON array or JSON lines file; errors name the file and line."""
    source = Path(path)
    try:
        text = source.read_text("utf-8")
    except OSError as error:
        raise RecommendError(f"cannot read trends file {source}: {error.strerror}") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = codec.loads(stripped.encode())
        except ValueError as error:
            raise RecommendError(f"{source}: not valid JSON: {error}") from None
        return [trend_from_record(r, f"{source}[{i}]") for i, r in enumerate(records)]
    trends = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = codec.loads(line.encode())
        except ValueError as error:
            raise RecommendError(f"{source}:{number}: not valid JSON: {error}") from None
        trends.append(trend_from_record(record, f"{source}:{number}"))
    return trends


def select_active(
    trends: Iterable[ActiveTrend], now: datetime, max_age: timedelta = MAX_AGE
) -> list[ActiveTrend]:
    return [trend for trend in trends if trend.active_at(now, max_age)]


def active_trends(
    connection: Any, now: datetime, *, max_age: timedelta = MAX_AGE
) -> list[ActiveTrend]:
    """The trends active at `now` in the warehouse's ``trends`` table (the trends stage's
    events: the latest version of each); `TrendsUnavailable` if there is no such table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", (TABLE,))
        if cursor.fetchone()[0] is None:
            connection.rollback()
            raise TrendsUnavailable(
                "the warehouse has no `trends` table: the trends stage's migration "
                "0010_trends is not applied (run `shoot2top warehouse migrate`); or pass "
                "trends in with --trends FILE (JSON records with at least a 'term')"
            )
        cursor.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = %s AND table_schema = current_schema()",
            (TABLE,),
        )
        columns = {row[0] for row in cursor.fetchall()}
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            connection.rollback()
            raise TrendsUnavailable(
                f"the warehouse's `trends` table has no column {', '.join(missing)}: "
                "this code reads term, kind, detected_at and ended_at"
            )
        cursor.execute(
            f"SELECT * FROM {TABLE} WHERE detected_at <= %(now)s"
            " AND detected_at > %(since)s AND (ended_at IS NULL OR ended_at > %(now)s)"
            " ORDER BY detected_at",
            {"now": now, "since": now - max_age},
        )
        names = [description[0] for description in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    connection.rollback()
    latest: dict[tuple[str, str, str], ActiveTrend] = {}
    for row in rows:
        trend = trend_from_record(row, f"warehouse table {TABLE}")
        latest[(trend.scope, trend.kind, trend.term)] = trend
    return list(latest.values())


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a number, got {value!r}")
    return kind(value)


def _top_items(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes):
        value = codec.loads(value if isinstance(value, bytes) else value.encode())
    items = []
    for entry in value:
        if isinstance(entry, Mapping):
            items.append((str(entry["platform"]), str(entry["item_id"])))
        else:
            platform, item_id = entry
            items.append((str(platform), str(item_id)))
    return tuple(items)
