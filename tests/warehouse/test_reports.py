"""Report figures against values computed here, independently, from the lake's items."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.loader import WarehouseLoader

CLI = [sys.executable, "-m", "shoot2top.cli"]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def tweet_of(message: dict) -> dict:
    """The tweet an X message observes: a retweet observes its original (includes.tweets)."""
    references = message["data"].get("referenced_tweets") or [{}]
    if references[0].get("type") == "retweeted":
        return message["includes"]["tweets"][0]
    return message["data"]


def engagement(item: dict) -> int:
    """Likes + shares + comments + quotes, from the raw API shapes."""
    if "tweet" in item:
        m = tweet_of(item["tweet"])["public_metrics"]
        return m["like_count"] + m["retweet_count"] + m["reply_count"] + m["quote_count"]
    if "video" in item:
        st = item["video"]["statistics"]
        return int(st.get("likeCount", 0)) + int(st.get("commentCount", 0))
    p = item["post"]
    return (p["reactions"]["summary"]["total_count"] + p["comments"]["summary"]["total_count"]
            + p.get("shares", {}).get("count", 0))  # fmt: skip


def observation(item: dict) -> tuple[str, str, str, str, datetime, datetime, float | None, bool]:
    """(platform, id, publisher, media, created, observed, views, is_video) of one raw item."""
    observed = ts(item["_observed_at"])
    if "tweet" in item:
        data, includes = tweet_of(item["tweet"]), item["tweet"]["includes"]
        keys = set(data.get("attachments", {}).get("media_keys", []))
        media = [m for m in includes.get("media", []) if m["media_key"] in keys]
        video = [m for m in media if m["type"] == "video"]
        views = (
            video[0]["public_metrics"]["view_count"]
            if video
            else data["public_metrics"]["impression_count"]
        )
        kind = "video" if video else (media[0]["type"] if media else "text")
        return (
            "x",
            data["id"],
            data["author_id"],
            kind,
            ts(data["created_at"]),
            observed,
            views,
            bool(video),
        )
    if "video" in item:
        v = item["video"]
        snippet, views = v["snippet"], int(v["statistics"]["viewCount"])
        created = ts(snippet["publishedAt"])
        return ("youtube", v["id"], snippet["channelId"], "video", created, observed, views, True)
    p = item["post"]
    if "length" in p:
        views = p["video_insights"]["data"][0]["values"][0]["value"]
        return (
            "facebook",
            p["id"],
            p["from"]["id"],
            "video",
            ts(p["created_time"]),
            observed,
            views,
            True,
        )
    kind = p["attachments"]["data"][0]["media_type"] if "attachments" in p else "status"
    own_video = kind == "video" and p["attachments"]["data"][0]["type"] == "video_inline"
    return (
        "facebook",
        p["attachments"]["data"][0]["target"]["id"] if own_video else p["id"],  # the video
        p["from"]["id"],
        kind,
        ts(p["created_time"]),
        observed,
        None,
        kind == "video",
    )


def interpolate(created, points, moment):
    """A counter at `moment` on the straight lines between its known values, from
    (created, 0) only when the first one was observed within an hour of publication."""
    line = sorted((at, value) for at, value in points if value is not None)
    if line and line[0][0] - created <= timedelta(hours=1):
        line.insert(0, (created, 0.0))
    if not line or moment > line[-1][0] or moment < line[0][0]:
        return None
    for (t0, v0), (t1, v1) in pairwise(line):
        if t0 <= moment <= t1:
            return v0 + (v1 - v0) * (moment - t0) / (t1 - t0)
    return line[0][1]


@pytest.fixture(scope="module")
def truth(sample_lake):
    items = [i for i in LakeSource(LocalStore(sample_lake)) if i is not None]
    series = defaultdict(lambda: {"points": []})
    for item in items:
        platform, item_id, publisher, media, created, observed, views, is_video = observation(item)
        entry = series[(platform, item_id)]
        entry.update(publisher=publisher, media=media, created=created, is_video=is_video)
        entry["points"].append((observed, views))
        entry.setdefault("engagement", []).append((observed, engagement(item)))
    return items, dict(series)


@pytest.fixture(scope="module")
def warehouse(truth, postgres_server):
    dsn = postgres_server.new_database(migrated=True)
    WarehouseLoader(dsn).load(truth[0])
    return dsn


def report(dsn: str, *args: str) -> list[dict]:
    result = subprocess.run(
        [*CLI, "report", *args, "--dsn", dsn, "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_video_report_views_at_ages_and_ranks(warehouse, truth):
    _, series = truth
    rows = report(warehouse, "videos")
    assert len(rows) == sum(1 for s in series.values() if s["media"] == "video")
    for row in rows:
        s = series[(row["platform"], row["item_id"])]
        for label, age in (("1h", 1), ("6h", 6), ("24h", 24), ("7d", 168)):
            expected = interpolate(s["created"], s["points"], s["created"] + timedelta(hours=age))
            if expected is None:
                assert row[f"views_{label}"] is None, (row["item_id"], label)
            else:
                assert row[f"views_{label}"] == pytest.approx(expected, abs=0.06), (
                    row["item_id"],
                    label,
                )
        assert row["latest_views"] == max(s["points"])[1]
    # rank 1 per publisher is its most viewed video; where some of the publisher's videos
    # have no view counter (Facebook posts of videos), its most engaging one
    on_views = defaultdict(lambda: True)
    for row in rows:
        s = series[(row["platform"], row["item_id"])]
        on_views[(row["platform"], s["publisher"])] &= row["latest_views"] is not None
    best = {}
    for row in rows:
        s = series[(row["platform"], row["item_id"])]
        key = (row["platform"], s["publisher"])
        assert row["ranked_on"] == ("views" if on_views[key] else "interactions")
        value = row["latest_views"] if on_views[key] else max(s["engagement"])[1]
        if key not in best or (-value, row["item_id"]) < (-best[key][0], best[key][1]):
            best[key] = (value, row["item_id"])
    firsts = {
        (r["platform"], series[(r["platform"], r["item_id"])]["publisher"]): r["item_id"]
        for r in rows
        if r["rank_in_publisher"] == 1
    }
    assert firsts == {key: item_id for key, (_, item_id) in best.items()}


@pytest.mark.slow
def test_peak_velocity(warehouse, truth):
    _, series = truth
    row = report(warehouse, "videos", "--limit", "1")[0]
    s = series[(row["platform"], row["item_id"])]
    line = [(s["created"], 0), *sorted(s["points"])]
    rates = [
        (v1 - v0) / ((t1 - t0).total_seconds() / 3600) for (t0, v0), (t1, v1) in pairwise(line)
    ]
    assert row["peak_views_per_h"] == pytest.approx(max(rates), abs=0.06)


@pytest.mark.slow
def test_publisher_report(warehouse, truth):
    _, series = truth
    rows = report(warehouse, "publishers")
    by_publisher = defaultdict(list)
    for (platform, item_id), s in series.items():
        latest = max(s["points"])[1]  # None: no view counter (a Facebook post)
        engaged = max(s["engagement"])[1]
        by_publisher[(platform, s["publisher"])].append((latest, engaged, item_id))
    assert len(rows) == len(by_publisher)
    for row in rows:
        values = by_publisher[(row["platform"], row["publisher_id"])]
        assert row["items"] == len(values)
        views = sorted(v[0] for v in values if v[0] is not None)  # known values only
        assert row["median_views"] == pytest.approx(statistics.median(views), abs=0.06)
        assert row["top_views"] == max(views)
        engaged = [v[1] for v in values]
        assert row["median_engagement"] == pytest.approx(statistics.median(engaged), abs=0.06)
        ranked = sorted((v[0], v[2]) for v in values if v[0] is not None)
        assert row["best_item"] == ranked[-1][1] and row["worst_item"] == ranked[0][1]
    # each platform's publishers are ranked on views (every one here has videos)
    for platform in {row["platform"] for row in rows}:
        ranked = [row for row in rows if row["platform"] == platform]
        assert [row["rank_in_platform"] for row in ranked] == list(range(1, len(ranked) + 1))
        assert {row["ranked_on"] for row in ranked} == {"views"}
        medians = [row["median_views"] for row in ranked]
        assert medians == sorted(medians, reverse=True)


@pytest.mark.slow
def test_live_report_scores_against_the_publishers_own_benchmark(warehouse, truth):
    _, series = truth
    now = max(p[0] for s in series.values() for p in s["points"])
    rows = report(warehouse, "live", "--now", now.isoformat(), "--hours", "24")
    recent = {k for k, s in series.items() if now - timedelta(hours=24) <= s["created"] <= now}
    assert {(r["platform"], r["item_id"]) for r in rows} == recent
    checked = 0
    for row in rows:
        s = series[(row["platform"], row["item_id"])]
        # scored on views; on interactions where the platform has no views (FB posts)
        metric = "points" if any(v is not None for _, v in s["points"]) else "engagement"
        assert row["scored_on"] == ("views" if metric == "points" else "interactions")
        last_at, actual = max(s[metric])
        assert row["views" if metric == "points" else "interactions"] == actual
        age = last_at - s["created"]
        peers = sorted(
            (
                p for k, p in series.items()
                if k[0] == row["platform"] and p["publisher"] == s["publisher"]
                and p["media"] == s["media"] and p["created"] < s["created"]
            ),
            key=lambda p: p["created"], reverse=True,
        )[:100]  # fmt: skip
        values = sorted(
            v
            for p in peers
            if (v := interpolate(p["created"], p[metric], p["created"] + age)) is not None
        )
        if not values or actual is None:
            assert row["score"] is None
            continue
        cut = len(values) // 4
        kept = values[cut : len(values) - cut] or values
        expected = sum(kept) / len(kept)
        assert row["benchmark"] == pytest.approx(expected, abs=0.06)
        actual, expected = max(actual, 1), max(expected, 1)
        want = actual / expected if actual >= expected else -expected / actual
        assert row["score"] == pytest.approx(want, abs=0.006)
        checked += 1
    assert checked >= 5
    assert {row["scored_on"] for row in rows if row["score"] is not None} == {
        "views",
        "interactions",
    }


@pytest.mark.slow
def test_a_chart_is_written(warehouse, tmp_path):
    target = tmp_path / "chart.png"
    result = subprocess.run(
        [*CLI, "report", "live", "--dsn", warehouse, "--now", "latest", "--chart", str(target)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_reports_on_a_warehouse_without_schema_say_what_to_do(postgres_server):
    dsn = postgres_server.new_database(migrated=False)
    result = subprocess.run(
        [*CLI, "report", "videos", "--dsn", dsn], capture_output=True, text=True
    )
    assert result.returncode == 1 and "run `shoot2top warehouse init`" in result.stderr
