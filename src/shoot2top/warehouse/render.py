"""Report output: a terminal table, CSV or JSON, and performance charts (PNG)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from shoot2top import codec
from shoot2top.warehouse.performance import Series, benchmark

FORMATS = ("table", "csv", "json")


def render(rows: Sequence[dict[str, Any]], fmt: str, title: str) -> str:
    """Rows as a table (default), CSV or JSON text."""
    if fmt == "json":
        return codec.dumps_pretty([_plain_row(row) for row in rows]).decode()
    if fmt == "csv":
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(_plain_row(row) for row in rows)
        return buffer.getvalue()
    if fmt != "table":
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    table = Table(title=title, show_lines=False)
    for column in rows[0] if rows else ["(no rows)"]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(value) for value in row.values()))
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(table)
    return console.export_text()


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def chart(
    path: str | Path,
    subject: Series | list[Series],
    peers: list[Series],
    *,
    title: str,
    hours: float | None = None,
) -> Path:
    """Views by hours since publication, against the benchmark of `peers` at each age.

    `subject` is one item (its curve in bold) or a publisher's items (thin curves).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    items = subject if isinstance(subject, list) else [subject]
    horizon = hours or max(
        (item.last_observed - item.created_at).total_seconds() / 3600 for item in items
    )
    grid = [horizon * step / 60 for step in range(61)]
    metric = items[0].score_metric  # views, or interactions where there are none
    figure, axes = pyplot.subplots(figsize=(9, 5), dpi=100)
    for item in items:
        # known values only: the moments where the metric is known, from publication
        # when the item was first seen young (see `performance.PUBLICATION_ANCHOR`)
        moments = sorted({at for name in item.counters(metric) for at, _ in item.curve(name)})
        known = [(at, value) for at in moments if (value := item.value_at(at, metric)) is not None]
        ages = [(at - item.created_at).total_seconds() / 3600 for at, _ in known]
        values = [value for _, value in known]
        single = not isinstance(subject, list)
        axes.plot(
            ages, values, marker="o" if single else None, linewidth=2.2 if single else 0.8,
            alpha=1.0 if single else 0.35, color="tab:blue",
            label=item.item_id if single else None,
        )  # fmt: skip
    expected = [benchmark(peers, timedelta(hours=hour), metric=metric) for hour in grid]
    axes.plot(
        grid, [value if value is not None else float("nan") for value in expected],
        linestyle="--", linewidth=2.2, color="tab:orange",
        label=f"benchmark (trimmed mean of {len(peers)} items)",
    )  # fmt: skip
    axes.set_xlabel("hours since publication")
    axes.set_ylabel("views" if metric == "views" else "interactions")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target)
    pyplot.close(figure)
    return target
