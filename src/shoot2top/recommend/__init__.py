"""Recommendations and forecasts for publishers, computed from the warehouse.

- `timing`: when to post (hour-of-week slots on age-matched performance, shrunk toward
  the platform's pattern);
- `terms`: which hashtags and keywords go with over- or under-performance;
- `crosspromote`: which existing videos match the trends active now;
- `forecast`: an item's views (or interactions) at 24 h and 7 d from its first
  observations, with an interval.

Every function returns a list of frozen dataclasses (``pandas.DataFrame(rows)`` takes it
as is; `tables.as_rows` gives plain dicts for the CLI). `catalog` loads what they read;
`synthetic` and `evaluation` are the honest out-of-time evaluation (``bench/recommend.py``).
Methods, anchors and measured figures: docs/recommend.md.
"""
