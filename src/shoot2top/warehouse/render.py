"""Report output: a terminal table, CSV or JSON, and performance charts (PNG).

A table is for reading: it fits the terminal (or ``$COLUMNS``), shows a short set of
columns unless told otherwise, and keeps each row on one line (long titles end in "…").
CSV and JSON are for other programs: every column by default, every value whole, a CSV
header even when there are no rows, and nothing after the last record.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shoot2top import codec
from shoot2top.warehouse.performance import ENGAGEMENT, VIEWS, Series, benchmark

FORMATS = ("table", "csv", "json")
TEXT_COLUMNS = ("title", "best_title", "worst_title", "publisher", "amplified_by")
"""Columns that give up width first: they shrink and end in "…" so a row stays one line
(the amplifiers named in `amplified_by` too)."""
MIN_TEXT_WIDTH = 10
LOG_SCALE_SPAN = 100.0
"""Charts switch to a log scale when the largest value is this many times the smallest."""
MIN_CHART_PEERS = 5
"""The benchmark curve is drawn only at ages where at least this many peers are known
(and half of the most ever known): past the ages the tracking covers (48 h by default),
only a few old items are left, and their mean jumps as each drops out."""


class RenderError(ValueError):
    """A render option is wrong (an unknown column); the message lists the valid ones."""


def choose_columns(
    requested: str | None, available: Sequence[str], default: Sequence[str]
) -> list[str]:
    """The columns to show: `requested` ("a,b,c", or "all"), else `default`."""
    if requested is None:
        return list(default)
    if requested.strip() == "all":
        return list(available)
    names = [name.strip() for name in requested.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if unknown or not names:
        raise RenderError(
            f"--columns: {', '.join(unknown) or 'no column given'} not in this report; "
            f"choose from {', '.join(available)} (or 'all')"
        )
    return names


def render(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    title: str,
    columns: Sequence[str],
    *,
    width: int | None = None,
    drop_to_fit: bool = False,
    shown_by: str = "--columns",
) -> str:
    """Rows as a table, CSV or JSON text with these columns in this order; the text
    ends with exactly one newline. `shown_by` is the command's option that shows the
    columns a narrow table leaves out (named below it)."""
    if fmt == "json":
        rows_out = [_plain_row(row, columns) for row in rows]
        return codec.dumps_pretty(rows_out, sort_keys=False).decode() + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(_plain_row(row, columns) for row in rows)
        return buffer.getvalue()
    if fmt != "table":
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    return _table(rows, title, columns, width or terminal_width(), drop_to_fit, shown_by)


def terminal_width() -> int:
    """The terminal's width, or ``$COLUMNS``, or 120 when the output is not a terminal."""
    return shutil.get_terminal_size(fallback=(120, 24)).columns


def _table(
    rows: Sequence[dict[str, Any]],
    title: str,
    columns: Sequence[str],
    width: int,
    drop_to_fit: bool,
    shown_by: str,
) -> str:
    """A table of one line per row; with `drop_to_fit`, the last columns are left out
    (and named below it) when even the shortest titles leave no room for them."""
    columns = list(columns)
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = fit_widths(columns, cells, width)
    hidden: list[str] = []
    while drop_to_fit and len(columns) > 2 and sum(widths) + 3 * len(columns) + 1 > width:
        hidden.insert(0, columns.pop())
        cells = [row[:-1] for row in cells]
        widths = fit_widths(columns, cells, width)
    table = Table(title=title, show_lines=False)
    for index, column in enumerate(columns):
        table.add_column(
            Text(_header(column), no_wrap=False),  # headers may wrap at their spaces
            no_wrap=True,
            overflow="ellipsis",
            justify="left" if column in TEXT_COLUMNS or _is_text(rows, column) else "right",
            width=widths[index],
        )
    for row_cells in cells:
        table.add_row(*row_cells)
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(table)
    if not rows:
        console.print("(no rows)")
    if hidden:
        console.print(f"(too narrow for {', '.join(hidden)}: widen the terminal or use {shown_by})")
    return console.export_text()


def fit_widths(columns: Sequence[str], cells: list[list[str]], width: int) -> list[int]:
    """Each column's width: its widest cell or header, the text columns (titles,
    publishers) cut down, widest first, until the table fits `width` characters."""
    from rich.cells import cell_len

    natural = [
        max([*map(cell_len, _header(column).split()), *(cell_len(row[index]) for row in cells)])
        for index, column in enumerate(columns)
    ]
    widths = list(natural)
    budget = width - (3 * len(columns) + 1)  # borders and padding
    shrinkable = [index for index, column in enumerate(columns) if column in TEXT_COLUMNS]
    while sum(widths) > budget and shrinkable:
        widest = max(shrinkable, key=lambda index: widths[index])
        if widths[widest] <= MIN_TEXT_WIDTH:
            break
        widths[widest] -= 1
    return widths


def _header(column: str) -> str:
    return column.replace("_", " ")


def _is_text(rows: Sequence[dict[str, Any]], column: str) -> bool:
    value = next((row.get(column) for row in rows if row.get(column) is not None), None)
    return not isinstance(value, int | float) or isinstance(value, bool)


def _plain_row(row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {column: _plain(row.get(column)) for column in columns}


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
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return " ".join(str(value).split())  # one line: newlines and runs of spaces flattened


def short(text: str | None, width: int = 70) -> str:
    """`text` on one line, cut to `width` characters with "…" (chart titles)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def chart(
    path: str | Path, subject: Series | list[Series], peers: list[Series], **how: Any
) -> Path:
    """Draw `draw_chart(subject, peers, **how)` into a PNG file."""
    figure = draw_chart(subject, peers, **how)
    target = Path(path)
    try:
        figure.savefig(target)
    finally:
        _pyplot().close(figure)
    return target


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    chart_fonts()
    return pyplot


FALLBACK_FONTS = ("Noto Sans CJK JP", "Noto Sans Arabic", "Noto Sans Devanagari", "Noto Sans")


def chart_fonts() -> None:
    """Let charts draw titles in any script the machine has fonts for: matplotlib's own
    font first, then those of `FALLBACK_FONTS` that are installed (Debian:
    fonts-noto-core, fonts-noto-cjk). A glyph no font has is drawn as a box, without a
    warning per glyph."""
    import warnings

    import matplotlib
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    matplotlib.rcParams["font.family"] = [
        "DejaVu Sans",
        *(name for name in FALLBACK_FONTS if name in installed),
    ]
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")


def draw_chart(
    subject: Series | list[Series],
    peers: list[Series],
    *,
    title: str,
    subtitle: str = "",
    metric: str | None = None,
    score: float | None = None,
) -> Any:
    """Views (or interactions) by hours since publication, against the benchmark of
    `peers` at each age, on a log scale when the values span orders of magnitude.

    `subject` is one item (its curve in bold, its `score` noted) or a publisher's items
    (thin curves). The benchmark is drawn only where enough peers are known at that age
    (`benchmark_curve`); a faint step line on the right axis shows how many are.
    """
    from matplotlib.ticker import MaxNLocator

    pyplot = _pyplot()

    items = subject if isinstance(subject, list) else [subject]
    single = not isinstance(subject, list)
    metric = metric or items[0].score_metric  # views, or interactions where there are none
    curves = [known_curve(item, metric) for item in items]
    horizon = max(
        (ages[-1] for ages, _ in curves if ages),
        default=max((i.last_observed - i.created_at).total_seconds() / 3600 for i in items),
    )
    grid = [horizon * step / 120 for step in range(121)]
    figure, axes = pyplot.subplots(figsize=(10, 5.5), dpi=100)
    for item, (ages, values) in zip(items, curves, strict=True):
        axes.plot(
            ages, values, marker="o" if single else None, linewidth=2.2 if single else 0.8,
            alpha=1.0 if single else 0.35, color="tab:blue",
            label=short(item.title, 40) or item.item_id if single else None,
        )  # fmt: skip
    expected, counts, floor = benchmark_curve(peers, grid, metric)
    if any(value is not None for value in expected):
        axes.plot(
            grid, [math.nan if value is None else value for value in expected],
            linestyle="--", linewidth=2.2, color="tab:orange",
            label=(f"benchmark: trimmed mean of the peers known at each age "
                   f"(drawn where ≥ {floor} of {len(peers)} are)"),
        )  # fmt: skip
    if peers:
        known_axis = axes.twinx()  # how many peers each point of the benchmark rests on
        known_axis.step(grid, counts, where="post", color="gray", alpha=0.4, linewidth=1)
        known_axis.set_ylabel("peers known at that age", color="gray")
        known_axis.set_ylim(0, max(max(counts), 1) * 1.1)
        known_axis.tick_params(axis="y", colors="gray")
        known_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    # what decides the scale: the observed values, and the benchmark from the first of
    # them on (both rise from zero at publication, which no scale should be chosen for)
    observed = [pair for ages, values in curves for pair in zip(ages, values, strict=True)]
    first = min((age for age, value in observed if value > 0), default=0.0)
    compared = [value for _, value in observed] + [
        value
        for hour, value in zip(grid, expected, strict=True)
        if value is not None and hour >= first
    ]
    log_scale = needs_log_scale(compared)
    if log_scale:
        axes.set_yscale("log", nonpositive="mask")
    label = "views" if metric == VIEWS else "interactions"
    axes.set_ylabel(f"{label} (log scale)" if log_scale else label)
    axes.set_xlabel("hours since publication")
    figure.suptitle(short(title, 90), fontsize=13, fontweight="bold")
    axes.set_title(subtitle, fontsize=9, color="dimgray")
    if single and score is not None:
        axes.annotate(
            f"score {score:+.1f} ({'above' if score > 0 else 'below'} benchmark, on {label})",
            xy=(0.99, 0.03), xycoords="axes fraction", ha="right", fontsize=11,
            fontweight="bold", color="tab:green" if score > 0 else "tab:red",
        )  # fmt: skip
    axes.grid(alpha=0.3, which="both" if log_scale else "major")
    axes.legend(loc="upper left", fontsize=8, framealpha=0.85)
    figure.tight_layout()
    return figure


def needs_log_scale(values: Sequence[float]) -> bool:
    """Whether the positive values span `LOG_SCALE_SPAN` or more (orders of magnitude)."""
    positive = [value for value in values if value > 0]
    return bool(positive) and max(positive) >= LOG_SCALE_SPAN * min(positive)


def known_curve(item: Series, metric: str) -> tuple[list[float], list[float]]:
    """(hours since publication, value) at the moments where the metric is known: from
    publication when the item was first seen young (`performance.PUBLICATION_ANCHOR`)."""
    moments = sorted({at for name in item.counters(metric) for at, _ in item.curve(name)})
    known = [(at, value) for at in moments if (value := item.value_at(at, metric)) is not None]
    return (
        [(at - item.created_at).total_seconds() / 3600 for at, _ in known],
        [value for _, value in known],
    )


def benchmark_curve(
    peers: list[Series], hours: list[float], metric: str
) -> tuple[list[float | None], list[int], int]:
    """The benchmark at each age, how many peers are known at each age, and the fewest
    it is drawn with: at least `MIN_CHART_PEERS` and half of the most ever known (where
    fewer are left, a few old items would make it jump); None where it is not drawn."""
    counts = peers_known(peers, hours, metric)
    floor = max(MIN_CHART_PEERS, math.ceil(max(counts, default=0) / 2))
    values = [
        benchmark(peers, timedelta(hours=hour), metric=metric) if count >= floor else None
        for hour, count in zip(hours, counts, strict=True)
    ]
    return values, counts, floor


def peers_known(peers: list[Series], hours: list[float], metric: str) -> list[int]:
    """How many peers have a known `metric` at each age (hours since publication)."""
    return [
        sum(1 for peer in peers if peer.value_at_age(timedelta(hours=hour), metric) is not None)
        for hour in hours
    ]


def publisher_metric(items: list[Series]) -> str:
    """What a publisher's items are compared on: views when any of them has a view
    counter (as `reports.publisher_report` ranks), else interactions."""
    return VIEWS if any(item.curve(VIEWS) for item in items) else ENGAGEMENT
