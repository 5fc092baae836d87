#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec prepare --memory/--tmp`: spilling to disk gives
# the same files as aggregating in memory, and leaves no temporary file behind
# on success, failure, SIGTERM or SIGINT.
# Usage: spill_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
TMP=$WORK/tmp
mkdir -p "$TMP"
tmp_empty() { expect_eq "$(ls -A "$TMP")" "" "$1: spill directory removed"; }

# N rows: duplicates (user x video collisions), ids past 16 bytes, pairs whose
# sum overflows float32 (vbig), malformed rows; weights exact in double; users
# in two locations (ties between them) or none.
gen() {
  awk -v n="$1" -v seed="$2" 'BEGIN {
    srand(seed); print "userId,videoId,interactionType,interactionValue,location,timestamp"
    for (i = 0; i < n; i++) {
      u = int(rand() * 20000); v = int(rand() * rand() * 3000)
      printf "%s%d,v%d%s,%s,%d,%s,%d\n", (u % 7 == 0 ? "a-long-user-identifier-" : "u"), u, v,
        (v % 50 == 0 ? "-with-a-long-suffix" : ""), (rand() < 0.3 ? "like" : "watch"), int(rand() * 5),
        (u % 5 == 0 ? "" : rand() < 0.5 ? "US" : "DE"), 1700000000 + int(rand() * 1000000)
      if (i % 10007 == 0) print "u0,vbig,watch,3e38,US,1700000000"
      if (i % 49999 == 49998) printf "u%d,v1,watch,abc,US,1700000000\n", u
    }
  }'
}
gen 150000 1 | gzip >"$WORK/log.csv.gz"

expect_exit 2 "--memory below the minimum" -- "$VIDREC" prepare "$WORK/log.csv.gz" -o "$WORK/x.vrd" --memory 1M
expect_contains "$WORK/err" "minimum of 4M" "minimum named"
expect_exit 2 "--memory not a size" -- "$VIDREC" prepare "$WORK/log.csv.gz" -o "$WORK/x.vrd" --memory lots
expect_exit 1 "--tmp missing" -- "$VIDREC" prepare "$WORK/log.csv.gz" -o "$WORK/x.vrd" --tmp "$WORK/nope"
expect_contains "$WORK/err" "nope" "--tmp named"

# The same bytes with and without spilling: dataset, rejects, summary, stderr's summary.
for opts in "" "--min-user-events 3 --min-video-events 5 --weight like=2.5"; do
  # shellcheck disable=SC2086
  expect_exit 0 "in memory $opts" -- "$VIDREC" prepare "$WORK/log.csv.gz" -o "$WORK/a.vrd" $opts \
    --rejects "$WORK/a.rej" --summary-json "$WORK/a.json" -q
  # shellcheck disable=SC2086
  expect_exit 0 "spilled $opts" -- "$VIDREC" prepare "$WORK/log.csv.gz" -o "$WORK/b.vrd" $opts \
    --rejects "$WORK/b.rej" --summary-json "$WORK/b.json" --memory 4M --tmp "$TMP"
  expect_contains "$WORK/err" "spill: " "spill progress on stderr"
  expect_contains "$WORK/err" "weight overflow: " "overflowing pairs in the input"
  for f in vrd rej json; do
    cmp -s "$WORK/a.$f" "$WORK/b.$f" && pass || fail "$opts: .$f differs between memory and spill"
  done
  tmp_empty "success"
done

# Failure after the runs were written: nothing left, the old dataset kept.
cp "$WORK/b.vrd" "$WORK/keep.vrd"
expect_exit 1 "spilled run over --max-reject-rate" -- "$VIDREC" prepare "$WORK/log.csv.gz" -o "$WORK/b.vrd" \
  --memory 4M --tmp "$TMP" --max-reject-rate 0
tmp_empty "failure"
cmp -s "$WORK/b.vrd" "$WORK/keep.vrd" && pass || fail "failed run changed the dataset"

# A file-size limit stands in for a full disk: the run file is named.
expect_exit 1 "spill past ulimit -f" -- bash -c "ulimit -f 1000; exec \"\$0\" \"\$@\"" "$VIDREC" prepare \
  "$WORK/log.csv.gz" -o "$WORK/b.vrd" --memory 4M --tmp "$TMP"
expect_contains "$WORK/err" "vidrec-spill." "the run file named"
expect_contains "$WORK/err" "write failed" "write failure said"
tmp_empty "write failure"

# Killed mid-run: the input is a FIFO held open after the rows, so the
# process is certainly waiting in ingest, its runs on disk, when it is killed.
gen 150000 2 >"$WORK/log.csv"
mkfifo "$WORK/fifo"
for sig in TERM INT; do
  env --default-signal=INT,TERM "$VIDREC" prepare "$WORK/fifo" -o "$WORK/b.vrd" --memory 4M --tmp "$TMP" -q \
    2>"$WORK/err" &
  pid=$!
  exec 3>"$WORK/fifo"
  cat "$WORK/log.csv" >&3
  for _ in $(seq 200); do
    compgen -G "$TMP/vidrec-spill.*/1" >/dev/null && break
    sleep 0.05
  done
  compgen -G "$TMP/vidrec-spill.*/1" >/dev/null && pass || fail "SIG$sig: no runs spilled before the kill"
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  exec 3>&-
  expect_eq "$rc" "$((128 + $(kill -l "$sig")))" "SIG$sig: killed by the signal"
  tmp_empty "SIG$sig"
  cmp -s "$WORK/b.vrd" "$WORK/keep.vrd" && pass || fail "SIG$sig: the previous dataset changed"
done
finish
