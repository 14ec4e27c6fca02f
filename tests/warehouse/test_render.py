"""Report output: faithful CSV and JSON, tables that fit, charts that can be read."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len

from shoot2top.warehouse.performance import Point, Series
from shoot2top.warehouse.render import (
    MIN_CHART_PEERS,
    RenderError,
    benchmark_curve,
    choose_columns,
    draw_chart,
    render,
)
from shoot2top.warehouse.reports import LIVE_COLUMNS, TABLE_COLUMNS

T0 = datetime(2026, 11, 20, tzinfo=UTC)
LONG = 'Post-match reaction, "unfiltered", from the Bayern\ndressing room — ملخص مباراة ' * 3


def live_row(index: int, title: str | None = LONG) -> dict:
    return {
        "platform": "x", "item_id": f"21245306015527836{index:02d}", "publisher": "Kawa ニュース",
        "media_type": "video", "title": title, "age_h": 1.25, "views": 1234567.0,
        "interactions": None, "views_per_h": 5.5, "scored_on": "views", "benchmark": 3.0,
        "score": -2.5,
    }  # fmt: skip


def test_csv_is_faithful_whole_values_one_record_per_row_nothing_after_the_last():
    rows = [live_row(1), live_row(2, title=None)]
    text = render(rows, "csv", "t", LIVE_COLUMNS)
    assert text.endswith("\r\n") is False and text.endswith("\n") and not text.endswith("\n\n")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["title"] == LONG  # not cut, newline and quotes kept
    assert parsed[1]["title"] == "" and parsed[0]["interactions"] == ""  # unknown: empty
    assert list(parsed[0]) == list(LIVE_COLUMNS)


def test_an_empty_csv_still_has_its_header_and_json_its_array():
    assert render([], "csv", "t", LIVE_COLUMNS) == ",".join(LIVE_COLUMNS) + "\n"
    assert render([], "json", "t", LIVE_COLUMNS) == "[]\n"


def test_json_keeps_whole_titles_and_the_columns_order():
    text = render([live_row(1)], "json", "t", ["score", "title", "platform"])
    assert text.endswith("]\n")
    (row,) = json.loads(text)
    assert list(row) == ["score", "title", "platform"] and row["title"] == LONG


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_a_table_fits_the_terminal_one_line_per_row(width):
    rows = [live_row(index) for index in range(5)]
    text = render(rows, "table", "Live", TABLE_COLUMNS["live"], width=width, drop_to_fit=True)
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == 5  # no row wraps: long titles end in "…" on their one line
    assert all("…" in line for line in body)
    if width < 100:  # the least important columns make way, and the table says so
        assert "too narrow for" in text and "--columns" in text
    else:
        assert "too narrow" not in text and "1,234,567" in text


def test_a_narrow_table_names_the_option_its_command_has():
    """Commands without --columns (recommend, predict, trends detect) name another way."""
    rows = [live_row(index) for index in range(5)]
    text = render(rows, "table", "Live", TABLE_COLUMNS["live"], width=60, drop_to_fit=True,
                  shown_by="--format json")  # fmt: skip
    assert "too narrow for" in text and "use --format json" in text
    assert "--columns" not in text


def test_chosen_columns_are_kept_even_when_narrow():
    text = render([live_row(1)], "table", "Live", ["title", "score", "benchmark"], width=40)
    assert "too narrow" not in text and "-2.5" in text


def test_columns_are_chosen_by_name_or_all_and_unknown_ones_are_named():
    assert choose_columns(None, LIVE_COLUMNS, ("score",)) == ["score"]
    assert choose_columns("all", LIVE_COLUMNS, ("score",)) == list(LIVE_COLUMNS)
    assert choose_columns("score, title", LIVE_COLUMNS, ()) == ["score", "title"]
    with pytest.raises(RenderError, match=r"--columns: nope not in this report; choose from"):
        choose_columns("title,nope", LIVE_COLUMNS, ())


def series(item_id: str, views: list[tuple[float, float]], created: datetime = T0) -> Series:
    points = [Point(created + timedelta(hours=hours), views=value) for hours, value in views]
    return Series("youtube", item_id, "UC1", "Pub", "video", f"title {item_id}", created, points)


@pytest.mark.slow
def test_a_chart_leads_with_the_title_shows_the_score_and_goes_log_over_orders_of_magnitude():
    star = series("star", [(0.5, 50_000), (2, 400_000), (6, 9_000_000)])
    peers = [series(f"p{n}", [(0.5, 100 + n), (6, 1_000 + n)], T0 - timedelta(days=1))
             for n in range(8)]  # fmt: skip
    figure = draw_chart(star, peers, title="A very good video", subtitle="Pub", score=82.2)
    axes = figure.axes[0]
    assert figure._suptitle.get_text() == "A very good video"
    assert axes.get_yscale() == "log" and "log scale" in axes.get_ylabel()
    assert any("score +82.2" in text.get_text() for text in axes.texts)
    close = draw_chart(series("s", [(1, 900), (6, 1_500)]), peers, title="t")
    assert close.axes[0].get_yscale() == "linear"  # values within two orders of magnitude


def test_the_benchmark_is_not_drawn_where_only_a_few_old_peers_are_left():
    """Tracking stops at 48 h: past it only the oldest items are still known, and their
    mean jumps (the publisher chart did so after 45 h). It is not drawn there."""
    tracked = [series(f"p{n}", [(1, 100.0), (47, 1_000.0)]) for n in range(12)]
    old = [series(f"old{n}", [(1, 100.0), (70, 90_000.0)]) for n in range(2)]
    hours = [1, 24, 46, 50, 60, 69]
    values, counts, floor = benchmark_curve(tracked + old, hours, "views")
    assert counts == [14, 14, 14, 2, 2, 2] and floor == max(MIN_CHART_PEERS, 7)
    assert all(value is not None for value in values[:3])
    assert values[3:] == [None, None, None]  # 2 peers: would have jumped to ~50,000
