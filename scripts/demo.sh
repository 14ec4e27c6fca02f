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
# credited to its author; the retweeter is kept as its amplifier (item_references). No
# report shows that yet, so a query names who amplified what.
.venv/bin/python - "$SHOOT2TOP_STATE" <<'EOF'
import sys
from shoot2top.warehouse.database import connect, existing_dsn
connection = connect(existing_dsn(None, sys.argv[1], guess=False)[0])
with connection.cursor() as cursor:
    cursor.execute("""
        SELECT amplifier.name, author.name, r.referenced_id, left(i.text, 40), count(*)
        FROM item_references r
        JOIN items i ON (i.platform, i.item_id) = (r.platform, r.referenced_id)
        JOIN publishers amplifier
          ON (amplifier.platform, amplifier.publisher_id) = (r.platform, r.publisher_id)
        JOIN publishers author ON (author.platform, author.publisher_id) = (i.platform, i.publisher_id)
        WHERE r.kind = 'retweeted'
        GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 3 LIMIT 5""")
    for amplifier, author, item, text, times in cursor.fetchall():
        print(f"amplified: {amplifier} retweeted {author}'s {item} ({text}…) {times}×")
connection.close()
EOF
# The sample is from November 2026: report "live" as of its newest observation.
$s2t report live --now latest --hours 12 --limit 15 --chart "$SHOOT2TOP_STATE/live.png"
# Recommendations (docs/recommend.md). The sample spans three days: few posts have a 24 h
# score yet, so the hours follow the platform's pattern and few terms are clear.
$s2t recommend timing --publisher 1412993408151511040 --now latest --tz Europe/London --limit 5
$s2t recommend terms --publisher UCq7xMvN2cJ8wL0pR5tYb3Kd --now latest --min-support 3 --limit 8
# Trends (docs/trends.md): the ingest above ran the trends stage into the warehouse's
# trends table; the sample plants #midnightdrop and a keyword burst. The same detector
# replays the lake directly (the algorithm-development loop), with the sample's settings.
.venv/bin/python -c 'from shoot2top.sample.generate import planted_trends
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
