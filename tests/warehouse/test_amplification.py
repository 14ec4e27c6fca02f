"""`shoot2top report amplification` on the real PostgreSQL: the sample lake's retweets and
quotes counted here from the raw items, the cases the sample lacks (self-retweets,
replies, unknown originals and amplifiers, the window), an empty warehouse, mistakes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.cells import cell_len

from shapes import at, snowflake, x_item, x_tweet, x_user
from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.amplification import AMPLIFICATION_COLUMNS, amplification_report
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.frames import Warehouse
from shoot2top.warehouse.loader import WarehouseLoader

CLI = [sys.executable, "-m", "shoot2top.cli"]
NASA = x_user("11348282", "nasa")
FAN = x_user("222", "fan")
CRITIC = x_user("333", "critic")
ORIGINAL_AT = at(-600)
ORIGINAL_ID = snowflake(ORIGINAL_AT)
ORIGINAL = x_tweet(ORIGINAL_ID, "Liftoff! #Artemis", NASA["id"], ORIGINAL_AT)
UNSEEN_ID = snowflake(at(-700), 99)  # an original the warehouse never observes


def run(*args: str, columns: int = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=env)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# ----------------------------------------------------------------------------- the sample


def counted_from_the_lake(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per amplified tweet, from the raw X messages: distinct retweets and quotes by a
    publisher other than its author, those publishers, first and last time, its author."""
    links: dict[tuple[str, str, str], tuple[str, datetime]] = {}
    authors: dict[str, str] = {}
    for item in items:
        if "tweet" not in item:
            continue
        message = item["tweet"]
        for tweet in message.get("includes", {}).get("tweets", []):
            authors[tweet["id"]] = tweet["author_id"]
        data = message["data"]
        for ref in data.get("referenced_tweets", []):
            if ref["type"] in ("retweeted", "quoted"):
                made = (data["author_id"], ts(data["created_at"]))
                links[(data["id"], ref["type"], ref["id"])] = made
    truth: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"retweets": 0, "quotes": 0, "who": set(), "times": []}
    )
    for (_, kind, original), (amplifier, moment) in links.items():
        if amplifier == authors[original]:
            continue
        entry = truth[original]
        entry["retweets" if kind == "retweeted" else "quotes"] += 1
        entry["who"].add(amplifier)
        entry["times"].append(moment)
        entry["author"] = authors[original]
    return dict(truth)


@pytest.fixture(scope="module")
def sample(sample_lake, postgres_server) -> tuple[str, list[dict[str, Any]]]:
    items = [i for i in LakeSource(LocalStore(sample_lake)) if i is not None]
    dsn = postgres_server.new_database(migrated=True)
    WarehouseLoader(dsn).load(items)
    return dsn, items


@pytest.mark.slow
def test_the_report_counts_the_lakes_retweets_and_quotes(sample):
    dsn, items = sample
    truth = counted_from_the_lake(items)
    assert sum(entry["quotes"] for entry in truth.values()) > 0  # the sample has both
    assert sum(entry["retweets"] for entry in truth.values()) > 0
    result = run("report", "amplification", "--dsn", dsn, "--now", "latest", "--hours", "1000",
                 "--format", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {row["item_id"] for row in rows} == set(truth)
    names = {u["id"]: u["name"] for i in items if "tweet" in i
             for u in i["tweet"].get("includes", {}).get("users", [])}  # fmt: skip
    for row in rows:
        want = truth[row["item_id"]]
        assert (row["retweets"], row["quotes"], row["amplifiers"]) == (
            want["retweets"], want["quotes"], len(want["who"]),
        )  # fmt: skip
        assert (ts(row["first_at"]), ts(row["last_at"])) == (min(want["times"]), max(want["times"]))
        assert row["publisher_id"] == want["author"]
        assert row["publisher"] == names[want["author"]]
        assert {part.split(" ×")[0] for part in row["amplified_by"].split(", ")} == {
            names[who] for who in want["who"]
        }
    totals = [row["retweets"] + row["quotes"] for row in rows]
    assert totals == sorted(totals, reverse=True)  # the most amplified first


@pytest.mark.slow
def test_the_view_for_bi_tools_is_the_report_over_all_time(sample):
    dsn, _ = sample
    connection = connect(dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM reports.amplification")
            names = [d[0] for d in cursor.description]
            view = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        report = amplification_report(connection, datetime(2100, 1, 1, tzinfo=UTC), 10**6)
    finally:
        connection.close()
    assert tuple(names) == AMPLIFICATION_COLUMNS
    key = lambda row: (row["platform"], row["item_id"])  # noqa: E731
    assert sorted(view, key=key) == sorted(report, key=key) and report


@pytest.mark.slow
def test_a_publisher_sees_who_spread_its_posts_and_csv_has_every_column(sample):
    dsn, items = sample
    truth = counted_from_the_lake(items)
    author = max(truth.values(), key=lambda e: e["retweets"] + e["quotes"])["author"]
    result = run("report", "amplification", "--dsn", dsn, "--now", "latest", "--hours", "1000",
                 "--publisher", author, "--limit", "2", "--format", "csv")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.splitlines()[0] == ",".join(AMPLIFICATION_COLUMNS)
    assert 1 <= len(rows) <= 2 and {row["publisher_id"] for row in rows} == {author}
    table = run(
        "report", "amplification", "--dsn", dsn, "--now", "latest", "--hours", "1000", columns=100
    )
    assert "Amplification: retweets and quotes by other publishers" in table.stdout
    assert "too narrow" not in table.stdout  # the names of the amplifiers give way: "…"
    assert max(cell_len(line) for line in table.stdout.splitlines()) <= 100


# ----------------------------------------------------------------------------- edge cases


def retweet(by: dict[str, Any], minutes: float, original: dict[str, Any] | None, *,
            original_id: str = ORIGINAL_ID, sequence: int = 1) -> dict[str, Any]:  # fmt: skip
    """`by`'s retweet at `minutes`; the original in ``includes`` unless None."""
    moment = at(minutes)
    data = x_tweet(snowflake(moment, sequence), "RT @nasa: Liftoff! #Artemis", by["id"], moment,
                   referenced=[("retweeted", original_id)])  # fmt: skip
    users = [by, NASA] if original else [by]
    return x_item(data, moment, users=users, tweets=[original] if original else None)


def referring(kind: str, by: dict[str, Any], minutes: float, sequence: int) -> dict[str, Any]:
    """`by`'s own tweet quoting or replying to the original."""
    moment = at(minutes)
    data = x_tweet(snowflake(moment, sequence), "Look at this", by["id"], moment,
                   referenced=[(kind, ORIGINAL_ID)])  # fmt: skip
    return x_item(data, moment, users=[by, NASA], tweets=[ORIGINAL])


def faceless(item: dict[str, Any]) -> dict[str, Any]:
    """`item` without its author: the amplifier is unknown."""
    del item["tweet"]["data"]["author_id"]
    item["tweet"]["includes"]["users"] = [NASA]
    return item


@pytest.fixture(scope="module")
def edgy(postgres_server) -> str:
    dsn = postgres_server.new_database(migrated=True)
    WarehouseLoader(dsn).load([
        x_item(ORIGINAL, at(-590), users=[NASA]),
        retweet(FAN, -500, ORIGINAL, sequence=1),
        retweet(FAN, -400, ORIGINAL, sequence=2),  # the same publisher again
        retweet(FAN, -400, ORIGINAL, sequence=2),  # redelivered: counts once
        retweet(CRITIC, -60, ORIGINAL, sequence=3),
        retweet(NASA, -300, ORIGINAL, sequence=4),  # its own post: not amplification
        referring("quoted", CRITIC, -30, 5),
        referring("replied_to", FAN, -20, 6),  # conversation: not amplification
        retweet(FAN, -10, None, original_id=UNSEEN_ID, sequence=7),
        faceless(retweet(CRITIC, -5, None, original_id=UNSEEN_ID, sequence=8)),
    ])  # fmt: skip
    return dsn


def report(dsn: str, now: datetime, hours: float, **filters: str) -> list[dict[str, Any]]:
    connection = connect(dsn)
    try:
        return amplification_report(connection, now, hours, **filters)
    finally:
        connection.close()


@pytest.mark.slow
def test_others_retweets_and_quotes_count_but_not_self_retweets_or_replies(edgy):
    rows = {row["item_id"]: row for row in report(edgy, at(0), 24)}
    row = rows[ORIGINAL_ID]
    assert (row["retweets"], row["quotes"], row["amplifiers"]) == (3, 1, 2)
    assert row["amplified_by"] == "Critic ×2, Fan ×2"  # most first, then by name
    assert (row["first_at"], row["last_at"]) == (at(-500), at(-30))
    assert (row["publisher_id"], row["publisher"], row["title"]) == (
        NASA["id"], "Nasa", "Liftoff! #Artemis",
    )  # fmt: skip
    assert row["published"] == ORIGINAL_AT


@pytest.mark.slow
def test_what_the_warehouse_does_not_know_is_unknown_not_zero(edgy):
    row = {row["item_id"]: row for row in report(edgy, at(0), 24)}[UNSEEN_ID]
    assert (row["publisher_id"], row["publisher"], row["title"], row["published"]) == (
        None, None, None, None,
    )  # fmt: skip
    assert row["retweets"] == 2 and row["quotes"] == 0
    assert row["amplifiers"] is None  # one amplifier unknown: how many differ is unknown
    assert row["amplified_by"] == "Fan, unknown"
    frame = Warehouse.open(edgy).amplification(at(0)).set_index("item_id")  # notebooks: NaN
    assert (
        math.isnan(frame.loc[UNSEEN_ID, "amplifiers"]) and frame.loc[ORIGINAL_ID, "amplifiers"] == 2
    )


@pytest.mark.slow
def test_the_window_and_the_filters_choose_the_amplifications(edgy):
    recent = {row["item_id"]: row for row in report(edgy, at(0), 1)}
    assert (recent[ORIGINAL_ID]["retweets"], recent[ORIGINAL_ID]["quotes"]) == (0, 1)
    assert recent[ORIGINAL_ID]["first_at"] == at(-30)  # the retweet at -60 is not in (-60, 0]
    assert recent[UNSEEN_ID]["retweets"] == 2
    assert report(edgy, at(-450), 1)[0]["retweets"] == 1  # only what was made by then
    assert report(edgy, at(-450) - timedelta(days=1), 12) == []
    assert [row["item_id"] for row in report(edgy, at(0), 24, publisher=NASA["id"])] == [
        ORIGINAL_ID
    ]
    assert report(edgy, at(0), 24, platform="youtube") == []
    with pytest.raises(ValueError, match="hours must be > 0, got 0"):
        report(edgy, at(0), 0)


@pytest.mark.slow
def test_an_empty_report_says_why(edgy, postgres_server):
    empty = run("report", "amplification", "--dsn", postgres_server.new_database(migrated=True),
                "--format", "json")  # fmt: skip
    assert empty.returncode == 0 and json.loads(empty.stdout) == []
    assert "holds no retweet or quote of another publisher's post" in empty.stderr
    missed = run("report", "amplification", "--dsn", edgy, "--format", "csv")
    assert missed.returncode == 0 and missed.stdout == ",".join(AMPLIFICATION_COLUMNS) + "\n"
    assert "the warehouse's newest is from 2026-11-20 09:55 UTC" in missed.stderr
    assert "try --now latest" in missed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hours", "0"], "0.0 is not in the range x>0"),
        (["--limit", "0"], "0 is not in the range x>=1"),
        (["--now", "yesterday"], "--now 'yesterday' is not 'now', 'latest' or an ISO-8601 time"),
        (["--columns", "item_id,reach"], "reach not in this report"),
        (["--chart", "a.png"], "--chart: the amplification report has no chart"),
        (["--format", "xml"], "'xml' is not one of"),
    ],
)
@pytest.mark.slow
def test_bad_options_are_one_line_errors(edgy, args, message):
    result = run("report", "amplification", "--dsn", edgy, *args)
    assert result.returncode in (1, 2) and message in result.stderr
    assert "Traceback" not in result.stderr
