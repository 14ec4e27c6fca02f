"""How a sample item's reach grows: a saturating curve ``reach * (1 - exp(-t / tau))``
per item, heavy-tailed final reach (Pareto) scaled per publisher, each metric a
fraction of reach arriving a little later than the views."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from shoot2top.sample.world import Publisher

_TAU_HOURS = {"x": 1.5, "youtube": 6.0, "facebook": 3.0}
_METRIC_RATES = {
    "x": {
        "impression_count": 1.0,
        "view_count": 0.38,
        "like_count": 0.018,
        "retweet_count": 0.0025,
        "reply_count": 0.0012,
        "quote_count": 0.0004,
        "bookmark_count": 0.0015,
    },
    "youtube": {"viewCount": 1.0, "likeCount": 0.035, "commentCount": 0.0025},
    "facebook": {"views": 1.0, "reactions": 0.03, "comments": 0.004, "shares": 0.0025},
}
METRIC_LAG = {  # engagement that trails the views: a longer time constant
    "like_count": 1.1,
    "likeCount": 1.1,
    "reactions": 1.1,
    "retweet_count": 1.2,
    "shares": 1.2,
    "reply_count": 1.35,
    "comments": 1.35,
    "commentCount": 1.35,
    "quote_count": 1.35,
    "bookmark_count": 1.5,
}
_MAX_VIRALITY = 400.0


@dataclass(frozen=True)
class Engagement:
    """Lifetime reach, how fast it arrives, and each metric as a fraction of reach."""

    final_reach: float
    tau_hours: float
    rates: dict[str, float]

    def at(self, metric: str, published: datetime, observed: datetime) -> int:
        hours = (observed - published).total_seconds() / 3600
        tau = self.tau_hours * METRIC_LAG.get(metric, 1.0)
        return int(self.final_reach * self.rates[metric] * (1 - math.exp(-hours / tau)))


def draw_engagement(rng: random.Random, publisher: Publisher, boost: float) -> Engagement:
    """Heavy-tailed final reach (Pareto) scaled by the publisher; per-item rates."""
    virality = min(rng.paretovariate(1.3), _MAX_VIRALITY)
    tau = rng.lognormvariate(math.log(_TAU_HOURS[publisher.platform]), 0.45)
    rates = {
        metric: rate * (1.0 if rate == 1.0 else rng.lognormvariate(0.0, 0.4))
        for metric, rate in _METRIC_RATES[publisher.platform].items()
    }
    return Engagement(publisher.typical_reach * 0.5 * virality * boost, tau, rates)
