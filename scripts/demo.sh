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
rm -rf "$SHOOT2TOP_STATE/lake" "$SHOOT2TOP_STATE/replay-sample"
$s2t warehouse init
$s2t ingest --config pipelines/replay-sample.json
echo
$s2t lake stats "$SHOOT2TOP_STATE/lake"
echo
$s2t report videos --limit 10
$s2t report publishers
# The sample is from November 2026: report "live" as of its newest observation.
$s2t report live --now latest --hours 12 --limit 15 --chart "$SHOOT2TOP_STATE/live.png"
cat >&2 <<EOF

Next: scripts/shoot2top dashboard           the live page on http://127.0.0.1:8765/ (Ctrl-C stops it)
      scripts/shoot2top report --help       reports, exports (--format csv|json), --watch
      .venv/bin/jupyter lab notebooks/quickstart.ipynb
      scripts/shoot2top warehouse stop --state-dir $SHOOT2TOP_STATE   stops the embedded PostgreSQL
EOF
