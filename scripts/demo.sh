#!/usr/bin/env bash
# The main job on embedded defaults: replay the committed sample lake through the
# in-process pipeline into a local lake, then summarise what landed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SHOOT2TOP_STATE=${SHOOT2TOP_STATE:-.shoot2top/demo}
rm -rf "$SHOOT2TOP_STATE"
.venv/bin/shoot2top ingest --config pipelines/replay-sample.json
.venv/bin/shoot2top lake ls "$SHOOT2TOP_STATE/lake"
.venv/bin/shoot2top lake stats "$SHOOT2TOP_STATE/lake"
