#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of logs read by header name: shuffled and extra columns,
# tab-separated input, --columns, epoch milliseconds, and what prepare says
# when it finds no valid row.
# Usage: columns_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
checksum() { "$VIDREC" inspect --json "$1" | grep -m1 '"content_checksum"'; }
# prepare_as NAME OUT [OPTIONS...]: prepares $WORK/NAME copied to one path, so
# that datasets from the same bytes count compare byte for byte.
prepare_as() {
  local src=$1 out=$2
  shift 2
  cp "$WORK/$src" "$WORK/log"
  expect_exit 0 "prepare $src $*" -- "$VIDREC" prepare "$WORK/log" -o "$WORK/$out" -q "$@"
}

taste_log 40 25 7 >"$WORK/ordered.csv"
prepare_as ordered.csv ordered.vrd
want=$(checksum "$WORK/ordered.vrd")
[ -n "$want" ] && pass || fail "no checksum for the ordered dataset"

# Shuffled columns, other names, extra columns, epoch milliseconds (with a
# sub-second part, truncated): the same data.
awk -F, 'NR == 1 { print "TS,extra,item_id,User_Id,Value,event,country,LOCATION"; next }
  { printf "%d%03d,x%d,%s,%s,%s,%s,ZZ,%s\n", $6, NR % 1000, NR, $2, $1, $4, $3, $5 }' \
  "$WORK/ordered.csv" >"$WORK/shuffled.csv"
prepare_as shuffled.csv shuffled.vrd
expect_eq "$(checksum "$WORK/shuffled.vrd")" "$want" "shuffled + extra columns + epoch ms == ordered"

# Tab-separated, detected from the header or given: byte-identical datasets.
tr ',' '\t' <"$WORK/ordered.csv" >"$WORK/ordered.tsv"
prepare_as ordered.tsv tsv.vrd
cmp -s "$WORK/tsv.vrd" "$WORK/ordered.vrd" && pass || fail "TSV (header detected) differs from CSV"
prepare_as ordered.tsv tsv2.vrd --delimiter '\t'
cmp -s "$WORK/tsv2.vrd" "$WORK/ordered.vrd" && pass || fail "TSV (--delimiter '\\t') differs from CSV"

# Headerless, another order: --columns (and a tab, named).
awk -F, 'NR > 1 { printf "%s\t%s\t%s\t%s\t%s\t%s\n", $6, $2, $1, $4, $5, $3 }' "$WORK/ordered.csv" >"$WORK/bare.tsv"
prepare_as bare.tsv bare.vrd --columns time,video,user,value,location,type --delimiter tab
expect_eq "$(checksum "$WORK/bare.vrd")" "$want" "--columns == ordered"
expect_exit 2 "--columns unknown name" -- "$VIDREC" prepare "$WORK/bare.tsv" -o "$WORK/x.vrd" --columns time,video,usr,value
expect_contains "$WORK/err" "--columns: unknown column 'usr'" "--columns names the bad name"
expect_exit 2 "--columns without value" -- "$VIDREC" prepare "$WORK/bare.tsv" -o "$WORK/x.vrd" --columns time,video,user
expect_contains "$WORK/err" "no value column" "--columns names the missing column"
expect_exit 2 "bad --delimiter" -- "$VIDREC" prepare "$WORK/bare.tsv" -o "$WORK/x.vrd" --delimiter ::
expect_contains "$WORK/err" "--delimiter" "--delimiter named"

# Several inputs: each header is read on its own.
head -400 "$WORK/ordered.csv" >"$WORK/part1.csv"
{ head -1 "$WORK/shuffled.csv"; tail -n +401 "$WORK/shuffled.csv"; } >"$WORK/part2.csv"
expect_exit 0 "two inputs, two headers" -- "$VIDREC" prepare "$WORK/part1.csv" "$WORK/part2.csv" -o "$WORK/parts.vrd" -q
expect_eq "$(checksum "$WORK/parts.vrd")" "$want" "rotated logs with different headers == ordered"

# A header without a required column: exit 1 naming it, what was found, the file.
sed '1s/interactionValue/weight/' "$WORK/ordered.csv" >"$WORK/noval.csv"
expect_exit 1 "missing column" -- "$VIDREC" prepare "$WORK/noval.csv" -o "$WORK/x.vrd"
expect_contains "$WORK/err" "noval.csv:1: header line has no value column (interactionValue/value)" "missing column named"
expect_contains "$WORK/err" "found 'userId,videoId,interactionType,weight,location,timestamp'" "header found listed"
[ ! -e "$WORK/x.vrd" ] && pass || fail "a dataset was written"

# No valid row: prepare says why.
tail -n +2 "$WORK/ordered.tsv" >"$WORK/headerless.tsv"
expect_exit 1 "TSV read as CSV" -- "$VIDREC" prepare "$WORK/headerless.tsv" -o "$WORK/x.vrd"
expect_contains "$WORK/err" "every line has 1 field: is it tab-separated? (--delimiter '\\t')" "TSV hint"
expect_exit 1 "a dataset as input" -- "$VIDREC" prepare "$WORK/ordered.vrd" -o "$WORK/x.vrd"
expect_contains "$WORK/err" "ordered.vrd:1: this is a vidrec dataset file, not a log" "dataset input named"
expect_exit 1 "header only" -- "$VIDREC" prepare <(head -1 "$WORK/ordered.csv") -o "$WORK/x.vrd"
expect_contains "$WORK/err" "a header and no rows" "header-only hint"

# Rows are still accounted for exactly: the rejects file lists the short row.
{ cat "$WORK/shuffled.csv"; echo "1700000000000,x,v1,u1"; } >"$WORK/short.csv"
expect_exit 0 "shuffled with a short row" -- "$VIDREC" prepare "$WORK/short.csv" -o "$WORK/s.vrd" -q \
  --rejects "$WORK/rej.tsv"
expect_eq "$(cut -f2 "$WORK/rej.tsv")" "too_few_fields" "short row rejected by the header's width"

finish
