#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Warm start vs cold start on a log split by day (README, "Warm start"):
# synth.py's log, days 1..N-2 -> yesterday's model (cold, 15 iterations);
# days 1..N-1 -> today's, trained cold for 15 iterations and warm from
# yesterday's for 1, 2 and 3; day N's new pairs (not in days 1..N-1) are
# the test set. Prints NDCG@10, the last training loss and the train time.
#   scripts/bench_warm_start.sh VIDREC WORKDIR [USERS VIDEOS EVENTS DAYS FACTORS]
set -euo pipefail
VIDREC=$1 DIR=$2
USERS=${3:-10000} VIDEOS=${4:-3000} EVENTS=${5:-500000} DAYS=${6:-15} FACTORS=${7:-32}
mkdir -p "$DIR"
/usr/bin/python3 "$(dirname "$0")/../../shared/tools/synth.py" --users "$USERS" --videos "$VIDEOS" \
  --events "$EVENTS" --days "$DAYS" --seed 7 -o "$DIR/raw.csv"
# Day index of each row from its date (synth.py starts at 2025-01-01).
awk -F, -v days="$DAYS" -v dir="$DIR" 'NR == 1 { h = $0; print h > dir "/old.csv"; print h > dir "/new.csv"; print h > dir "/test.csv"; next }
  { split($6, d, /[- ]/); t = mktime(d[1] " " d[2] " " d[3] " 0 0 0"); if (!first) first = t
    day = int((t - first) / 86400 + 0.5) + 1
    if (day <= days - 2) print > dir "/old.csv"
    if (day <= days - 1) { print > dir "/new.csv"; seen[$1 "," $2] = 1 }
    else if (!(($1 "," $2) in seen)) print > dir "/test.csv" }' "$DIR/raw.csv"
for part in old new test; do "$VIDREC" prepare "$DIR/$part.csv" -o "$DIR/$part.vrd" -q; done
common=(--factors "$FACTORS" --loss --threads 2)
run() {  # NAME ARGS...: train, then evaluate; one line of figures
  local name=$1
  shift
  "$VIDREC" train "$@" "${common[@]}" 2>"$DIR/$name.log"
  local secs solver loss ndcg
  secs=$(grep -o 'in [0-9.]* s' "$DIR/$name.log" | tail -1 | cut -d' ' -f2)
  read -r solver loss < <("$VIDREC" inspect --json "$DIR/$name.vrm" | /usr/bin/python3 -c 'import json,sys
t = json.load(sys.stdin)["meta"]["training"]; print("%.2f %.6g" % (sum(t["iteration_seconds"]), t["loss"][-1]))')
  ndcg=$("$VIDREC" evaluate --model "$DIR/$name.vrm" --test "$DIR/test.vrd" --json |
    /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["model"]["ndcg"])')
  printf '%-8s ndcg@10 %s  loss %s  iterations %s s  whole train %s s\n' "$name" "$ndcg" "$loss" "$solver" "$secs"
}
"$VIDREC" train "$DIR/old.vrd" -o "$DIR/old.vrm" "${common[@]}" -q
run cold15 "$DIR/new.vrd" -o "$DIR/cold15.vrm" --iterations 15
for i in 1 2 3; do run "warm$i" "$DIR/new.vrd" -o "$DIR/warm$i.vrm" --init-from "$DIR/old.vrm" --iterations "$i"; done
echo "commit $(git -C "$(dirname "$0")" rev-parse --short HEAD), users $USERS videos $VIDEOS events $EVENTS days $DAYS factors $FACTORS, 2 threads"
