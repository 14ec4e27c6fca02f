"""Which hashtags and keywords go with a publisher's posts doing better or worse, at the
same age, than its posts without them.

One regression per publisher: each post's age-matched log score (`catalog`), centred,
on indicators of the terms it carries (hashtags and keywords used on at least
`min_support` scored posts). Fitting all terms together keeps a term that merely rides
along with a good one (a topic's words next to its hashtag) from taking its credit;
terms that always appear together cannot be told apart and are reported as one row
(`group`). Most terms do nothing and a few do a lot, so the prior on every effect is a
spike and slab (`stats.spike_and_slab`): within ±`SPIKE_SD` (no effect) or drawn from a
slab whose width and share are fitted from the data, separately for hashtags and for
keywords (a publisher chooses its hashtags; its keywords come with the topic, and dozens
of nil keywords must not shrink a strong hashtag). The lift of a term is
``exp(posterior mean)`` — × the score of the same post without it — with the posterior
interval. A term *helps* (or *hurts*) when its whole interval lies above (below) ×1.

Trends active now (from the trends stage, or passed in) flag the terms that trend;
a trending term the publisher has never used is listed too, without a lift.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from shoot2top.recommend.catalog import Catalog, RecommendError
from shoot2top.recommend.stats import spike_and_slab, z_value
from shoot2top.recommend.trends import ActiveTrend

HASHTAG, KEYWORD = "hashtag", "keyword"
MIN_SUPPORT = 5
SPIKE_SD = 0.1  # an effect within ±10% of a post's score counts as none
HELPS, HURTS, UNCLEAR, NO_HISTORY = "helps", "hurts", "unclear", "trending, never used"


@dataclass(frozen=True, slots=True)
class TermLift:
    term: str  # "#goal" for a hashtag, "goal" for a keyword
    kind: str  # hashtag | keyword
    lift: float | None  # × the age-matched score of the same post without the term
    low: float | None  # interval on `lift`
    high: float | None
    support: int  # the publisher's scored posts that carry the term
    raw_lift: float | None  # mean with / mean without, unadjusted (geometric means)
    verdict: str  # helps | hurts | unclear | trending, never used
    trending: float | None  # the trend's score when the term trends now (None: unknown)
    group: tuple[tuple[str, str], ...] = ()  # (kind, term) always used together with it
    trends: bool = False  # an active trend is on the term (its score may be unknown)


@dataclass(frozen=True)
class Terms:
    platform: str
    publisher_id: str
    terms: list[TermLift]  # helps (best first), unclear, hurts (worst last), then trending
    items: int  # scored posts behind the fit
    candidates: int  # terms with enough support
    noise_sd: float
    effect_sd: dict[str, float]  # per kind: how large the effects that exist are, as fitted

    def verdicts(self, verdict: str) -> list[TermLift]:
        return [row for row in self.terms if row.verdict == verdict]


def label(kind: str, term: str) -> str:
    return f"#{term}" if kind == HASHTAG else term


def recommend_terms(
    catalog: Catalog,
    platform: str,
    publisher_id: str,
    *,
    trends: Sequence[ActiveTrend] = (),
    min_support: int = MIN_SUPPORT,
    level: float = 0.9,
) -> Terms:
    """The publisher's terms with their lift, support, interval and verdict."""
    scored = catalog.scored(catalog.publisher_items(platform, publisher_id))
    if len(scored) < 2 * min_support:
        raise RecommendError(
            f"publisher {platform}:{publisher_id} has {len(scored)} scored posts; terms need "
            f"at least {2 * min_support} (a post is scored "
            f"{catalog.score_age.total_seconds() / 3600:g} h after publication)"
        )
    posts = [(_terms_of(item.hashtags, item.keywords), value) for item, value in scored]
    values = np.array([value for _, value in posts])
    values -= values.mean()
    support: dict[tuple[str, str], int] = defaultdict(int)
    for terms, _ in posts:
        for key in terms:
            support[key] += 1
    candidates = sorted(term for term, count in support.items() if count >= min_support)
    columns = np.array(
        [[term in terms for term in candidates] for terms, _ in posts], dtype=float
    ).reshape(len(posts), len(candidates))
    groups = _identical_columns(columns, candidates)
    heads = [members[0] for members in groups]
    design = columns[:, [candidates.index(head) for head in heads]]
    kinds = [kind for kind, _ in heads]
    fit = spike_and_slab(design - design.mean(axis=0), values, kinds, spike_var=SPIKE_SD**2)
    z = z_value(level)
    trending = _trending(trends)
    rows = []
    for index, members in enumerate(groups):
        kind, term = members[0]
        mean, sd = float(fit.mean[index]), float(fit.sd[index])
        low, high = mean - z * sd, mean + z * sd
        verdict = HELPS if low > 0 else HURTS if high < 0 else UNCLEAR
        present = design[:, index] > 0
        raw = (
            float(values[present].mean() - values[~present].mean())
            if present.any() and (~present).any()
            else None
        )
        flags = [trending[m] for m in members if m in trending]
        rows.append(
            TermLift(
                label(kind, term), kind, math.exp(mean), math.exp(low), math.exp(high),
                support[members[0]], None if raw is None else math.exp(raw), verdict,
                _highest(flags), tuple(members[1:]), any(m in trending for m in members),
            )
        )  # fmt: skip
    rows.sort(key=_order)
    used = {term for term in support}
    for (kind, term), score in sorted(trending.items()):
        if (kind, term) not in used:
            row = TermLift(label(kind, term), kind, None, None, None, 0, None, NO_HISTORY,
                           score, trends=True)  # fmt: skip
            rows.append(row)
    return Terms(
        platform, publisher_id, rows, len(posts), len(candidates),
        math.sqrt(fit.noise_var), {kind: math.sqrt(v) for kind, v in fit.slab_var.items()},
    )  # fmt: skip


def _terms_of(hashtags: Iterable[str], keywords: Iterable[str]) -> set[tuple[str, str]]:
    return {(HASHTAG, tag) for tag in hashtags} | {(KEYWORD, word) for word in keywords}


def _identical_columns(
    columns: np.ndarray, candidates: list[tuple[str, str]]
) -> list[list[tuple[str, str]]]:
    """Terms grouped by identical presence across posts (their effects are one), each
    group led by its hashtag, else its shortest term."""
    by_pattern: dict[bytes, list[tuple[str, str]]] = defaultdict(list)
    for index, term in enumerate(candidates):
        by_pattern[columns[:, index].tobytes()].append(term)
    groups = [
        sorted(members, key=lambda t: (t[0] != HASHTAG, len(t[1]), t[1]))
        for members in by_pattern.values()
    ]
    return sorted(groups, key=lambda members: members[0])


def _trending(trends: Sequence[ActiveTrend]) -> dict[tuple[str, str], float | None]:
    """(kind, term) -> the highest known score among the active trends on it, None when
    none is known (a trends file needs only a term); hashtags and keywords: the kinds
    this table has."""
    found: dict[tuple[str, str], list[float | None]] = defaultdict(list)
    for trend in trends:
        if trend.kind in (HASHTAG, KEYWORD):
            found[(trend.kind, trend.term)].append(trend.score)
    return {key: _highest(scores) for key, scores in found.items()}


def _highest(scores: Iterable[float | None]) -> float | None:
    """The highest known score; None if none is known (never 0)."""
    return max((score for score in scores if score is not None), default=None)


def _order(row: TermLift) -> tuple[int, float, str]:
    rank = {HELPS: 0, UNCLEAR: 1, HURTS: 2}[row.verdict]
    return (rank, -(row.lift or 0.0), row.term)
