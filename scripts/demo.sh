#!/usr/bin/env bash
# The main job on embedded defaults: replay the committed sample lake through the
# in-process pipeline into a local lake and the embedded PostgreSQL warehouse, then print
# the after-the-fact and live reports. Rerunning it reloads the same data: the warehouse
# is idempotent, so the figures do not change.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SHOOT2TOP_STATE=${SHOOT2TOP_STATE:-.shoot2top/demo}
s2t=.venv/bin/shoot2top
rm -rf "$SHOOT2TOP_STATE/lake" "$SHOOT2TOP_STATE/replay-sample" "$SHOOT2TOP_STATE/trends.jsonl"
$s2t warehouse init
$s2t ingest --config pipelines/replay-sample.json
echo
$s2t lake stats "$SHOOT2TOP_STATE/lake"
echo
$s2t report videos --limit 10
$s2t report publishers
# Amplification (docs/warehouse.md): a retweet is an observation of the original item,
# credited to its author; the retweeter is kept as its amplifier. Who spread whose posts:
$s2t report amplification --now latest --hours 72 --limit 5
# The sample is from November 2026: report "live" as of its newest observation.
$s2t report live --now latest --hours 12 --limit 15 --chart "$SHOOT2TOP_STATE/live.png"
# Recommendations (docs/recommend.md). The sample spans three days: few posts have a 24 h
# score yet, so the hours follow the platform's pattern and few terms are clear.
$s2t recommend timing --publisher 1412993408151511040 --now latest --tz Europe/London --limit 5
$s2t recommend terms --publisher UCq7xMvN2cJ8wL0pR5tYb3Kd --now latest --min-support 3 --limit 8
# Trends (docs/trends.md): the ingest above ran the trends stage into the warehouse's
# trends table; the sample plants #midnightdrop and a keyword burst. The same detector
# replays the lake directly (the algorithm-development loop), with the sample's settings.
.venv/bin/python -c 'from shoot2top.sample.trends import planted_trends
for t in planted_trends(): print(f"planted: {t.kind} {t.term} {t.start:%Y-%m-%d %H:%M}-{t.end:%H:%M} UTC")'
$s2t trends detect --lake data/sample-lake --all-only --bucket-s 900 --lateness-s 900 \
  --min-volume 3 --z-on 2.5 --format table
$s2t report trends --now latest --hours 72 --chart "$SHOOT2TOP_STATE/trends.png"
# The cross-promotion reads the active trends from that table.
$s2t recommend crosspromote --publisher UC3bNfW8yHk0JpLx5QvZr7Cm --now 2026-11-21T09:00:00
item=$($s2t report live --now latest --hours 6 --limit 1 --format csv | sed -n 2p | cut -d, -f2)
$s2t predict --item "$item" --now latest
cat >&2 <<EOF

Next: scripts/shoot2top dashboard           the live page on http://127.0.0.1:8765/ (Ctrl-C stops it)
      scripts/shoot2top report --help       reports, exports (--format csv|json), --watch
      .venv/bin/jupyter lab notebooks/quickstart.ipynb
      scripts/shoot2top warehouse stop --state-dir $SHOOT2TOP_STATE   stops the embedded PostgreSQL
EOF
