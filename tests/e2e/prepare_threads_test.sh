#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec prepare --threads N`: the files, the summary on
# stderr and the exit status of --threads 1, byte for byte, for N = 2 and 5,
# on several inputs (plain and gzip, headers differing, rejects), in memory
# and spilling; the first error in input order wins.
# Usage: prepare_threads_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
TMP=$WORK/tmp
mkdir -p "$TMP"

# N rows from SEED: quoted ids holding commas, CRLF, blank lines, rejects of
# several kinds, users in two locations.
gen() {
  awk -v n="$1" -v seed="$2" 'BEGIN {
    srand(seed)
    for (i = 0; i < n; i++) {
      u = int(rand() * 20000); v = int(rand() * rand() * 3000); r = rand()
      if (r < 0.01) { print ""; continue }
      if (r < 0.02) { printf "u%d,v%d,watch,abc,US,1700000000\n", u, v; continue }
      if (r < 0.03) { printf "u%d,v%d\n", u, v; continue }
      printf "%s,v%d,%s,%d,%s,%d%s\n", (u % 7 == 0 ? "\"user, " u "\"" : "u" u), v,
        (rand() < 0.3 ? "like" : "watch"), int(rand() * 5), (u % 5 == 0 ? "" : rand() < 0.5 ? "US" : "DE"),
        1700000000 + int(rand() * 1000000), (rand() < 0.2 ? "\r" : "")
    }
  }'
}
{ echo "userId,videoId,interactionType,interactionValue,location,timestamp"; gen 60000 1; } >"$WORK/a.csv"
{ echo "videoId,userId,interactionType,interactionValue,location,timestamp"; gen 60000 2 |
  awk -F, '{ print $2 "," $1 "," $3 "," $4 "," $5 "," $6 }' OFS=,; } | gzip >"$WORK/b.csv.gz"
gen 60000 3 >"$WORK/c.csv"  # no header
INPUTS=("$WORK/a.csv" "$WORK/b.csv.gz" "$WORK/c.csv")

# run TAG OPTIONS...: outputs under $WORK/TAG.*, exit status in $WORK/TAG.rc
run() {
  local tag=$1
  shift
  "$VIDREC" prepare "${INPUTS[@]}" -o "$WORK/$tag.vrd" --rejects "$WORK/$tag.rej" \
    --summary-json "$WORK/$tag.json" --tmp "$TMP" "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err"
  echo $? >"$WORK/$tag.rc"
  grep -v '^prepare \|^spill\|^merge\|^write' "$WORK/$tag.err" >"$WORK/$tag.sum"  # progress lines aside
}
same() {
  local a=$1 b=$2 what=$3
  for ext in vrd rej json out sum rc; do
    if [ -e "$WORK/$a.$ext" ] || [ -e "$WORK/$b.$ext" ]; then
      cmp -s "$WORK/$a.$ext" "$WORK/$b.$ext" && pass || fail "$what: $ext differs from --threads 1"
    fi
  done
}

for opts in "" "--memory 8M" "--min-user-events 3 --weight like=2.5 --ignore-type watch" "--strict"; do
  # shellcheck disable=SC2086
  run t1 --threads 1 $opts
  for n in 2 5; do
    # shellcheck disable=SC2086
    run "t$n" --threads "$n" $opts
    same t1 "t$n" "--threads $n $opts"
  done
  expect_eq "$(ls -A "$TMP")" "" "$opts: no temporary file left"
done
expect_eq "$(cat "$WORK/t1.rc")" "1" "--strict fails"
expect_contains "$WORK/t5.err" "a.csv:" "--strict names the first bad row of the first input"

# An unreadable second input: the first input's rows are read, then the error.
INPUTS=("$WORK/a.csv" "$WORK/missing.csv" "$WORK/c.csv")
run t1 --threads 1
run t2 --threads 2
same t1 t2 "missing second input"
expect_contains "$WORK/t2.err" "missing.csv" "missing input named"

# --threads out of range is a usage error.
expect_exit 2 "--threads 257" -- "$VIDREC" prepare "$WORK/a.csv" -o "$WORK/x.vrd" --threads 257
finish
