"""Streaming analytics on items: trend detection (docs/trends.md).

No Storm code here: the in-process stage (`stage.TrendStage`) and the Storm adapters
compose the same pieces — `terms.term_uses`, `watermark.EventClock`,
`detector.TrendDetector` — so a replay gives the same events everywhere.
"""
