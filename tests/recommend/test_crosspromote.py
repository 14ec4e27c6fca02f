"""What to cross-promote: back-catalog videos that match a trend by its term, its other
spellings, or by reading like the trend's posts in any script; ranked by relevance, then
performance; with the reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from curves import MONDAY, catalog, item, series
from shoot2top.recommend.crosspromote import crosspromote
from shoot2top.recommend.textsim import Vectorizer, containment, grams, squeezed
from shoot2top.recommend.trends import ActiveTrend

ONSET = MONDAY + timedelta(days=10)
NOW = ONSET + timedelta(hours=2)
FILLER = [
    "Full highlights: Arsenal vs Bayern", "Tactical breakdown of the Flamengo press",
    "Post-match reaction from the dressing room", "Late winner sends Al Hilal top",
    "Is this the goal of the season?", "Storm update: heavy rain tonight",
    "サッカーのハイライト、劇的な決勝ゴール", "大雨警報が発表されました",
]  # fmt: skip


def video(item_id: str, text: str, days: float, final: float = 10_000, **kwargs: object):
    created = MONDAY + timedelta(days=days)
    one = series(item_id, created, final, title=text, publisher=str(kwargs.pop("publisher", "p1")))
    return item(one, text=text, **kwargs)  # type: ignore[arg-type]


def library() -> list:
    """The publisher's back catalog, the trend's posts (other publishers, after onset)."""
    mine = [video(f"f{n}", text, n * 0.4) for n, text in enumerate(FILLER * 3)]
    mine += [
        video("exact", "Derby build-up #DerbyDay", 2, hashtags=["derbyday"]),
        video("spaced", "It's derby day at Arsenal", 3, keywords=["derby", "day"]),
        video("hyphen", "Derby-day nerves before kick-off", 4),
        video("japanese", "アーセナルのダービーデー、決戦前夜", 5),
        video("photo", "Derby day photos", 6),
        video("late", "Derby day, the match thread", 10.05, hashtags=["derbyday"]),
    ]
    mine[-2].series.media_type = "photo"
    theirs = [
        video(f"t{n}", text, 10 + (n + 1) / 48, publisher="p2", hashtags=["derbyday"])
        for n, text in enumerate([
            "Derby day! Arsenal vs Tottenham #DerbyDay", "ダービーデーの朝、スタジアムへ #DerbyDay",
            "The derby day crowd is loud #DerbyDay", "ダービーデー速報 #DerbyDay",
        ])
    ]  # fmt: skip
    return mine + theirs


DERBY = ActiveTrend("derbyday", "hashtag", score=9.0, onset_at=ONSET)


def test_matches_by_term_spelling_and_script_not_by_topic() -> None:
    found = crosspromote(catalog(library()), "youtube", "p1", [DERBY], now=NOW, per_trend=10)
    ids = [row.item_id for row in found]
    assert set(ids[:4]) == {"exact", "spaced", "hyphen", "japanese"}
    assert "photo" not in ids  # videos only
    assert "late" not in ids  # published after the trend began: part of it, not back catalog
    rows = {row.item_id: row for row in found}
    assert rows["exact"].matched == ("#derbyday",) and rows["exact"].relevance == 1.0
    assert "carries #derbyday" in rows["exact"].reason
    assert "in other words" in rows["spaced"].reason
    assert rows["japanese"].matched == () and rows["japanese"].similarity > 0.1
    assert rows["japanese"].reason.startswith("#derbyday trending: reads like the trend's 5 posts")
    assert all(row.trend == "#derbyday" for row in found)


def test_all_media_includes_other_posts() -> None:
    found = crosspromote(catalog(library()), "youtube", "p1", [DERBY], now=NOW,
                         per_trend=10, videos_only=False)  # fmt: skip
    assert "photo" in [row.item_id for row in found]


def test_better_performers_rank_first_among_equally_relevant() -> None:
    items = library()
    weak = [video(f"w{n}", f"Derby day story {n}", 8 + n / 10, final=1000) for n in range(3)]
    strong = video("strong", "Derby day story strong", 8.5, final=1_000_000)
    peers = [video(f"p{n}", f"Other story {n}", 7 + n / 10) for n in range(6)]
    found = crosspromote(catalog([*items, *peers, *weak, strong]), "youtube", "p1", [DERBY],
                         now=NOW, per_trend=10)  # fmt: skip
    ranked = [row.item_id for row in found if row.item_id in {"strong", "w0", "w1", "w2"}]
    assert ranked[0] == "strong"
    assert next(r for r in found if r.item_id == "strong").performance > 1


def test_trends_of_another_platform_or_none_give_nothing() -> None:
    elsewhere = ActiveTrend("derbyday", "hashtag", onset_at=ONSET, scope="x")
    assert crosspromote(catalog(library()), "youtube", "p1", [elsewhere], now=NOW) == []
    assert crosspromote(catalog(library()), "youtube", "p1", [], now=NOW) == []


def test_without_an_onset_the_last_day_is_the_trend() -> None:
    undated = ActiveTrend("derbyday", "hashtag")
    found = crosspromote(catalog(library()), "youtube", "p1", [undated], now=NOW, per_trend=10)
    assert "exact" in [row.item_id for row in found]


def test_text_similarity_in_any_script() -> None:
    assert squeezed("Derby-Day, at #Arsenal!") == "derbydayatarsenal"
    counts = grams("ダービーデー derby")
    assert "ダー" in counts and " de" in counts and "rby " in counts
    vectorizer = Vectorizer([grams(text) for text in FILLER])
    assert containment("derbyday", "It's Derby Day", vectorizer) == 1.0
    assert containment("hailstorm", "hailstorms over the city", vectorizer) == 1.0
    partial = containment("hailstorm", "a storm is coming", vectorizer)
    assert 0 < partial < 0.6
    assert containment("derbyday", "nothing alike", vectorizer) == pytest.approx(0.0)
