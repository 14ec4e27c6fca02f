"""The reports as pandas DataFrames, for notebooks (needs the ``analyst`` extra).

The same figures as ``shoot2top report`` — computed by `reports` and `performance`, the
one implementation — with their columns in the same order; unknown figures are NaN
(never 0). Any other question: `Warehouse.sql` (through SQLAlchemy), or the SQL views of
schema ``reports`` (docs/warehouse.md, "Query the warehouse").

    from shoot2top.warehouse.frames import Warehouse
    warehouse = Warehouse.open()      # $SHOOT2TOP_DSN, else the embedded one (the demo's)
    warehouse.live(hours=12)          # as of the newest observation
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from shoot2top.warehouse.amplification import AMPLIFICATION_COLUMNS, amplification_report
from shoot2top.warehouse.database import connect, existing_dsn
from shoot2top.warehouse.performance import COUNTERS, ENGAGEMENT, VIEWS, Series, benchmark
from shoot2top.warehouse.render import known_curve, peers_known
from shoot2top.warehouse.reports import (
    REPORT_COLUMNS,
    benchmark_peers,
    latest_observation,
    live_report,
    load_series,
    publisher_report,
    video_report,
)
from shoot2top.warehouse.schema import require_current

STATE_VARIABLE = "SHOOT2TOP_STATE"


def find_state_dir(start: Path | None = None) -> Path:
    """``$SHOOT2TOP_STATE``, else the nearest ``.shoot2top`` in this directory or above
    it (a notebook runs in ``notebooks/``, the demo's state is at the checkout's root)."""
    if os.environ.get(STATE_VARIABLE):
        return Path(os.environ[STATE_VARIABLE])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".shoot2top").is_dir():
            return folder / ".shoot2top"
    return here / ".shoot2top"


class Warehouse:
    """A warehouse to read reports from, as DataFrames."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._engine: Any = None

    @classmethod
    def open(cls, dsn: str | None = None, state_dir: str | Path | None = None) -> Warehouse:
        """The warehouse of `dsn` (or ``$SHOOT2TOP_DSN``), else the embedded one of
        `state_dir` (default: `find_state_dir`; its lone sub-directory warehouse, like
        the demo's ``.shoot2top/demo``, is found too). Never creates one."""
        folder = Path(state_dir) if state_dir is not None else find_state_dir()
        resolved, _ = existing_dsn(dsn, folder, guess=state_dir is None)
        warehouse = cls(resolved)
        with warehouse._connection() as connection:
            require_current(connection)
        return warehouse

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        connection = connect(self.dsn)
        try:
            yield connection
        finally:
            connection.close()

    def latest(self) -> datetime | None:
        """When the warehouse last observed anything ("now" of a replay, the demo)."""
        with self._connection() as connection:
            return latest_observation(connection)

    def series(
        self,
        *,
        platform: str | None = None,
        publisher: str | None = None,
        until: datetime | None = None,
    ) -> list[Series]:
        """Every item's metric series (`performance.Series`), for computing on your own."""
        with self._connection() as connection:
            return load_series(connection, platform=platform, publisher=publisher, until=until)

    def videos(
        self, *, platform: str | None = None, publisher: str | None = None, all_media: bool = False
    ) -> pd.DataFrame:
        """`shoot2top report videos`: views and engagement at 1 h, 6 h, 24 h, 7 d, …"""
        rows = video_report(
            self.series(platform=platform, publisher=publisher), include_all_media=all_media
        )
        return _frame(rows, REPORT_COLUMNS["videos"])

    def publishers(self, *, platform: str | None = None) -> pd.DataFrame:
        """`shoot2top report publishers`: medians, best and worst, rank in platform."""
        return _frame(
            publisher_report(self.series(platform=platform)), REPORT_COLUMNS["publishers"]
        )

    def live(
        self,
        now: datetime | str = "latest",
        *,
        hours: float = 24.0,
        platform: str | None = None,
        publisher: str | None = None,
    ) -> pd.DataFrame:
        """`shoot2top report live`: items published in the `hours` before `now` ('latest':
        the newest observation; 'now': the clock), scored against their benchmark."""
        moment = self._moment(now)
        rows = live_report(
            self.series(platform=platform, publisher=publisher, until=moment), moment, hours=hours
        )
        frame = _frame(rows, REPORT_COLUMNS["live"])
        frame.attrs["as_of"] = moment
        return frame

    def amplification(
        self,
        now: datetime | str = "latest",
        *,
        hours: float = 24.0,
        platform: str | None = None,
        publisher: str | None = None,
    ) -> pd.DataFrame:
        """`shoot2top report amplification`: items retweeted or quoted by other
        publishers in the `hours` before `now` ('latest' by default, as `live`)."""
        moment = self._moment(now)
        with self._connection() as connection:
            rows = amplification_report(
                connection, moment, hours, platform=platform, publisher=publisher
            )
        frame = _frame(rows, AMPLIFICATION_COLUMNS)
        frame.attrs["as_of"] = moment
        return frame

    def observations(self, item_id: str, platform: str | None = None) -> pd.DataFrame:
        """One item's observations: when, how old, and each counter as reported (NaN
        where the platform did not report it), with engagement."""
        item = self._item(item_id, platform)
        rows = [
            {
                "observed_at": point.at,
                "age_h": (point.at - item.created_at).total_seconds() / 3600,
                **{name: getattr(point, name) for name in COUNTERS},
                ENGAGEMENT: item.reported(point, ENGAGEMENT),
            }
            for point in item.points
        ]
        return _frame(rows, ["observed_at", "age_h", *COUNTERS, ENGAGEMENT])

    def performance(self, item_id: str, platform: str | None = None) -> pd.DataFrame:
        """One item's known views (or interactions, where it has no views) by hours since
        publication, against its benchmark at each of those ages (the same peers as its
        live score) and how many peers that rests on: what `report live --chart` draws."""
        series = self.series()
        item = _find(series, item_id, platform)
        metric = item.score_metric
        ages, values = known_curve(item, metric)
        peers = benchmark_peers(series, item, item.last_observed)
        known = peers_known(peers, ages, metric)
        rows = [
            {"age_h": age, "metric": VIEWS if metric == VIEWS else "interactions",
             "value": value, "benchmark": benchmark(peers, timedelta(hours=age), metric=metric),
             "peers_known": count}
            for age, value, count in zip(ages, values, known, strict=True)
        ]  # fmt: skip
        return _frame(rows, ["age_h", "metric", "value", "benchmark", "peers_known"])

    def trends(self) -> pd.DataFrame:
        """The trends stage's events, newest first; empty (with ``attrs['note']``) when
        the stage is not set up in this warehouse (no ``trends`` table)."""
        with self._connection() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('trends') IS NOT NULL")
            (present,) = cursor.fetchone()
        if not present:
            frame = pd.DataFrame()
            frame.attrs["note"] = "the trends stage is not set up in this warehouse"
            return frame
        frame = self.sql("SELECT * FROM trends")
        if "detected_at" in frame:
            frame = frame.sort_values("detected_at", ascending=False, ignore_index=True)
        return frame

    def sql(self, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Any query (``%(name)s`` parameters), e.g. on the views of schema ``reports``."""
        return pd.read_sql_query(query, self.engine(), params=params)

    def engine(self) -> Any:
        """A SQLAlchemy engine on this warehouse (for pandas, or your own queries)."""
        if self._engine is None:
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            self._engine = create_engine(
                "postgresql+psycopg2://", creator=lambda: connect(self.dsn), poolclass=NullPool
            )
        return self._engine

    def _moment(self, now: datetime | str) -> datetime:
        if isinstance(now, datetime):  # an offset is converted: "as_of" is in UTC
            return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        if now == "now":
            return datetime.now(UTC)
        if now == "latest":
            latest = self.latest()
            if latest is None:
                raise ValueError("the warehouse has no observations yet: nothing is 'latest'")
            return latest
        return self._moment(datetime.fromisoformat(now))

    def _item(self, item_id: str, platform: str | None) -> Series:
        return _find(self.series(platform=platform), item_id, platform)


def _find(series: list[Series], item_id: str, platform: str | None) -> Series:
    for item in series:
        if item.item_id == item_id and platform in (None, item.platform):
            return item
    raise KeyError(f"no item {item_id!r} in the warehouse")


NOT_NUMBERS = frozenset({
    "platform", "item_id", "publisher_id", "publisher", "media_type", "title", "published",
    "ranked_on", "scored_on", "best_item", "best_title", "worst_item", "worst_title",
    "observed_at", "metric", "first_at", "last_at", "amplified_by",
})  # fmt: skip
"""Report columns that hold text or times; every other one is a number (NaN: unknown)."""


def _frame(rows: list[dict[str, Any]], columns: Any) -> pd.DataFrame:
    """Rows as a DataFrame with these columns in order, even when there are none; a
    number column whose figures are all unknown is still numeric (NaN, not None)."""
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    for column in frame.columns:
        if column not in NOT_NUMBERS and frame[column].dtype == object:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame
