#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Ranking quality of ALS against the most-popular baseline on real and
# synthetic data: prepare -> split (by time, 0.2) -> train -> evaluate -k 10.
# A check to run by hand after touching the solver or the metrics, not a test:
# it needs data that lives outside the repository, and skips when it is absent.
#
# Usage: scripts/quality.sh SHARED_DIR [WORK_DIR]
#   SHARED_DIR   holds data/ml-latest-small/ratings.csv and tools/synth.py
#   WORK_DIR     scratch space (default: a temporary directory, removed after)
#   VIDREC=...   the binary (default: build/apps/vidrec)
#   THREADS=N    worker threads for train and evaluate (default 0: all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${1:?usage: scripts/quality.sh SHARED_DIR [WORK_DIR]}
VIDREC=${VIDREC:-build/apps/vidrec}
THREADS=${THREADS:-0}
if [ -n "${2:-}" ]; then
  WORK=$2
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
[ -x "$VIDREC" ] || { echo "quality.sh: no binary at $VIDREC (build first, or set VIDREC)" >&2; exit 1; }

# run NAME RAW_CSV: the pipeline on one raw log; figures to stdout and NAME.json.
run() {
  local name=$1 raw=$2
  echo "== $name"
  "$VIDREC" prepare "$raw" -o "$WORK/$name.vrd" -q
  "$VIDREC" split "$WORK/$name.vrd" --test-fraction 0.2 --by time -o "$WORK/$name.train.vrd" \
    --test "$WORK/$name.test.vrd"
  "$VIDREC" train "$WORK/$name.train.vrd" -o "$WORK/$name.vrm" --factors 64 --iterations 15 \
    --threads "$THREADS" -q
  "$VIDREC" evaluate --model "$WORK/$name.vrm" --test "$WORK/$name.test.vrd" -k 10 --threads "$THREADS"
  "$VIDREC" evaluate --model "$WORK/$name.vrm" --test "$WORK/$name.test.vrd" -k 10 --threads "$THREADS" \
    --json >"$WORK/$name.json"
}

ratings=$SHARED/data/ml-latest-small/ratings.csv
if [ -f "$ratings" ]; then
  # MovieLens ratings (userId,movieId,rating,timestamp; CRLF) -> raw log rows:
  # ratings >= 4 count as positive interactions weighted by the rating.
  awk -F, 'NR > 1 { sub(/\r$/, ""); if ($3 + 0 >= 4)
    printf "u%s,m%s,rating,%s,,%s\n", $1, $2, $3, $4 }' "$ratings" >"$WORK/movielens.csv"
  run movielens "$WORK/movielens.csv"
else
  echo "quality.sh: skipped MovieLens: no $ratings"
fi

synth=$SHARED/tools/synth.py
if [ -f "$synth" ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  /usr/bin/python3 "$synth" --users 20000 --videos 5000 --events 1000000 -o "$WORK/synth.csv"
  run synth "$WORK/synth.csv"
else
  echo "quality.sh: skipped synthetic data: no $synth, or python3 without numpy"
fi
