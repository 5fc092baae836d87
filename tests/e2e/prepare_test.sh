#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec prepare` and `vidrec inspect` on the real binary.
# Usage: prepare_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
DIRTY=$ROOT/tests/data/dirty.csv
json_count() { grep -E "^  \"$1\": " "$2" | head -1 | sed -E 's/.*: ([0-9.]+),?$/\1/'; }

# Usage errors exit 2.
expect_exit 2 "no subcommand" -- "$VIDREC"
expect_exit 2 "prepare without -o" -- "$VIDREC" prepare "$DIRTY"
expect_exit 2 "unknown option" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/x.vrd" --frobnicate
expect_exit 2 "reject rate out of range" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/x.vrd" --max-reject-rate 2
expect_exit 2 "malformed --weight" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/x.vrd" --weight like
expect_exit 2 "--weight beyond float32" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/x.vrd" --weight like=1e39
expect_exit 0 "--help" -- "$VIDREC" prepare --help
expect_contains "$WORK/out" "--max-reject-rate" "help lists options"

# A missing input is a runtime error naming the file.
expect_exit 1 "missing input" -- "$VIDREC" prepare "$WORK/nope.csv" -o "$WORK/x.vrd"
expect_contains "$WORK/err" "nope.csv" "missing input named"

# Dirty data: exact counts, rejects file, nothing on stdout.
expect_exit 0 "prepare dirty" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/d.vrd" --summary-json "$WORK/s.json" \
  --rejects "$WORK/rej.tsv"
expect_eq "$(wc -c <"$WORK/out")" "0" "prepare prints nothing on stdout"
expect_contains "$WORK/err" "6 valid, 9 malformed" "summary on stderr"
expect_eq "$(json_count rows_valid "$WORK/s.json")" "6" "rows_valid"
expect_eq "$(json_count rows_malformed "$WORK/s.json")" "9" "rows_malformed"
expect_eq "$(json_count users "$WORK/s.json")" "4" "users"
expect_eq "$(json_count videos "$WORK/s.json")" "3" "videos"
expect_eq "$(json_count pairs "$WORK/s.json")" "5" "pairs"
expect_eq "$(json_count value_sum "$WORK/s.json")" "10" "value_sum"
for reason in '"too_few_fields": 1' '"too_many_fields": 1' '"empty_user": 1' '"empty_video": 1' \
  '"non_numeric_value": 1' '"non_finite_value": 2' '"bad_timestamp": 2'; do
  expect_contains "$WORK/s.json" "$reason" "malformed_by_reason"
done
expect_eq "$(wc -l <"$WORK/rej.tsv")" "9" "one rejects line per malformed row"
expect_eq "$(head -1 "$WORK/rej.tsv")" "$(printf '%s:7\ttoo_few_fields\tu003,v002,watch,1,BRA' "$DIRTY")" \
  "rejects line format"

# Dump: aggregated pairs, sorted, with quoting and timestamps.
expect_exit 0 "dump csv" -- "$VIDREC" inspect "$WORK/d.vrd" --dump csv
expect_eq "$(cat "$WORK/out")" "userId,videoId,weight,events,first_ts,last_ts
u001,v001,3,2,2025-01-01 10:10:00,2025-01-01 10:20:00
u002,v001,1,1,2025-01-01 11:00:00,2025-01-01 11:00:00
u002,v002,3,1,2025-01-01 12:00:00,2025-01-01 12:00:00
u003,v003,2,1,2025-01-03 08:00:00,2025-01-03 08:00:00
u004,v003,1,1,2025-01-04 09:30:00,2025-01-04 09:30:00" "dump output"

# --strict stops at the first bad row, naming file, line and reason.
expect_exit 1 "strict" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/strict.vrd" --strict
expect_contains "$WORK/err" "dirty.csv:7: too_few_fields" "strict message"
[ ! -e "$WORK/strict.vrd" ] && pass || fail "strict run wrote a dataset"

# --max-reject-rate fails the run and leaves the previous dataset untouched.
cp "$WORK/d.vrd" "$WORK/keep.vrd"
cp "$WORK/d.vrd" "$WORK/old.vrd"
expect_exit 1 "max reject rate" -- "$VIDREC" prepare "$ROOT/examples/interactions.csv" "$DIRTY" \
  -o "$WORK/old.vrd" --max-reject-rate 0.1
expect_contains "$WORK/err" "above --max-reject-rate 0.1" "reject rate message"
cmp -s "$WORK/old.vrd" "$WORK/keep.vrd" && pass || fail "old dataset changed by a failed run"
expect_eq "$(ls "$WORK" | grep -c tmp)" "0" "no temporary files left"

# stdin, gzip and `-o -` give the same data (provenance differs).
checksum() { "$VIDREC" inspect --json "$1" | grep content_checksum; }
want=$(checksum "$WORK/d.vrd")
expect_exit 0 "prepare from stdin" -- sh -c "cat '$DIRTY' | '$VIDREC' prepare -o '$WORK/stdin.vrd' -q"
expect_eq "$(checksum "$WORK/stdin.vrd")" "$want" "stdin gives the same data"
gzip -c "$DIRTY" >"$WORK/dirty.csv.gz"
expect_exit 0 "prepare gzip" -- "$VIDREC" prepare "$WORK/dirty.csv.gz" -o "$WORK/gz.vrd" -q
expect_eq "$(checksum "$WORK/gz.vrd")" "$want" "gzip gives the same data"
expect_exit 0 "gzip via stdin" -- sh -c "'$VIDREC' prepare - -o - -q <'$WORK/dirty.csv.gz' >'$WORK/piped.vrd'"
expect_eq "$(checksum "$WORK/piped.vrd")" "$want" "gzip stdin to stdout gives the same data"
gz_size=$(wc -c <"$WORK/dirty.csv.gz")
head -c $((gz_size - 12)) "$WORK/dirty.csv.gz" >"$WORK/cut.csv.gz"
expect_exit 1 "truncated gzip" -- "$VIDREC" prepare "$WORK/cut.csv.gz" -o "$WORK/cut.vrd"
expect_contains "$WORK/err" "cut.csv.gz: corrupt or truncated gzip" "truncated gzip message"

# Concatenated gzip members are all read; plain text after gzip data is an error, never dropped.
head -3 "$ROOT/examples/interactions.csv" | gzip -c >"$WORK/cat.csv.gz"
tail -n +4 "$ROOT/examples/interactions.csv" | gzip -c >>"$WORK/cat.csv.gz"
expect_exit 0 "two gzip members" -- "$VIDREC" prepare "$WORK/cat.csv.gz" -o "$WORK/cat.vrd" -q
expect_eq "$(checksum "$WORK/cat.vrd")" "$("$VIDREC" prepare "$ROOT/examples/interactions.csv" -o - -q |
  "$VIDREC" inspect --json - | grep content_checksum)" "two members give the whole log"
head -3 "$ROOT/examples/interactions.csv" | gzip -c >"$WORK/mixed.csv.gz"
tail -n +4 "$ROOT/examples/interactions.csv" >>"$WORK/mixed.csv.gz"
expect_exit 1 "plain text after gzip" -- "$VIDREC" prepare "$WORK/mixed.csv.gz" -o "$WORK/mixed.vrd"
expect_contains "$WORK/err" "mixed.csv.gz: bytes after the gzip data (from byte" "trailing data message"
[ ! -e "$WORK/mixed.vrd" ] && pass || fail "a run with trailing data wrote a dataset"
{ cat "$WORK/dirty.csv.gz"; head -c 100 /dev/zero; } >"$WORK/padded.csv.gz"
expect_exit 1 "zero padding after gzip" -- "$VIDREC" prepare "$WORK/padded.csv.gz" -o "$WORK/padded.vrd"
expect_contains "$WORK/err" "padded.csv.gz: bytes after the gzip data" "padding message"
expect_exit 1 "trailing data on stdin" -- sh -c "'$VIDREC' prepare -o '$WORK/stdin2.vrd' <'$WORK/mixed.csv.gz'"
expect_contains "$WORK/err" "<stdin>: bytes after the gzip data" "stdin trailing data message"

# CR-only line endings fail the run naming the file (not one "header" line), also next to another file.
tr '\n' '\r' <"$ROOT/examples/interactions.csv" >"$WORK/mac.csv"
expect_exit 1 "CR-only file after a good one" -- "$VIDREC" prepare "$DIRTY" "$WORK/mac.csv" -o "$WORK/mac.vrd" \
  --summary-json "$WORK/mac.json"
expect_contains "$WORK/err" "mac.csv:1: carriage return inside a line: CR-only line endings" "CR-only message"
[ ! -e "$WORK/mac.vrd" ] && pass || fail "a CR-only run wrote a dataset"
tail -n +2 "$ROOT/examples/interactions.csv" | tr '\n' '\r' >"$WORK/mac2.csv"
expect_exit 1 "CR-only file without header" -- "$VIDREC" prepare "$WORK/mac2.csv" -o "$WORK/mac.vrd"
expect_contains "$WORK/err" "mac2.csv:1: carriage return" "CR-only without header message"

# Values beyond float32, pairs whose sum overflows, invalid UTF-8, zone offsets past the years 0001..9999:
# each row counted under its reason, written to --rejects with file:line; never stored.
printf '%s\n' 'userId,videoId,interactionType,interactionValue,location,timestamp' \
  'u1,v1,watch,1e39,USA,2025-01-01 00:00:00' 'u1,v1,watch,-3.5e38,USA,2025-01-01 00:00:00' \
  'u1,v2,watch,3e38,USA,2025-01-01 00:00:00' 'u1,v2,watch,3e38,USA,2025-01-01 00:00:01' \
  'u2,v1,watch,3e38,USA,2025-01-01 00:00:00' \
  'u2,v3,watch,1,USA,0001-01-01T00:00:00+00:01' 'u2,v3,watch,1,USA,9999-12-31T23:59:59-00:01' \
  'u2,v3,watch,1,USA,0001-01-01T00:59:00+00:59' 'u3,v3,watch,1,USA,9999-12-31T23:00:59-00:59' >"$WORK/edge.csv"
printf 'u\377,v1,watch,1,USA,1\nu4,v\303(,watch,1,USA,1\nu4,v1,w\355\240\200,1,USA,1\nu4,v1,watch,1,\342\202,1\n' \
  >>"$WORK/edge.csv"
printf 'u\303\251,v1,watch,1,S\303\243o Paulo,1\n' >>"$WORK/edge.csv"
expect_exit 0 "prepare edge values" -- "$VIDREC" prepare "$WORK/edge.csv" -o "$WORK/edge.vrd" \
  --summary-json "$WORK/edge.json" --rejects "$WORK/edge.tsv"
for reason in '"non_finite_value": 2' '"bad_timestamp": 2' '"invalid_utf8": 4'; do
  expect_contains "$WORK/edge.json" "$reason" "edge malformed_by_reason"
done
expect_eq "$(json_count rows_valid "$WORK/edge.json")" "6" "edge rows_valid"
expect_eq "$(json_count lines "$WORK/edge.json")" "15" "edge lines"
expect_eq "$(tr -d ' \n' <"$WORK/edge.json" | grep -o '"weight_overflow":{[^}]*}')" \
  '"weight_overflow":{"events":2,"pairs":1}' "summed weight overflow counted"
expect_contains "$WORK/err" "weight overflow: 1 pairs (2 events) dropped" "overflow in the text summary"
expect_eq "$(cut -f1,2 "$WORK/edge.tsv" | tr '\n' ' ')" "$WORK/edge.csv:2	non_finite_value $WORK/edge.csv:3	non_finite_value \
$WORK/edge.csv:7	bad_timestamp $WORK/edge.csv:8	bad_timestamp $WORK/edge.csv:11	invalid_utf8 \
$WORK/edge.csv:12	invalid_utf8 $WORK/edge.csv:13	invalid_utf8 $WORK/edge.csv:14	invalid_utf8 " "edge rejects"
expect_exit 0 "dump edge" -- "$VIDREC" inspect "$WORK/edge.vrd" --dump csv
expect_eq "$(cat "$WORK/out")" "$(printf '%s\n' 'userId,videoId,weight,events,first_ts,last_ts' \
  'u2,v1,3e+38,1,2025-01-01 00:00:00,2025-01-01 00:00:00' 'u2,v3,1,1,0001-01-01 00:00:00,0001-01-01 00:00:00' \
  'u3,v3,1,1,9999-12-31 23:59:59,9999-12-31 23:59:59')
$(printf 'u\303\251,v1,1,1,1970-01-01 00:00:01,1970-01-01 00:00:01')" "edge dump: finite weights, years 0001..9999"
# The dump's user, video, weight and first time as a log again: what was stored must ingest.
"$VIDREC" inspect "$WORK/edge.vrd" --dump csv | tail -n +2 |
  sed 's/^\([^,]*\),\([^,]*\),\([^,]*\),[^,]*,\([^,]*\),.*/\1,\2,watch,\3,USA,\4/' >"$WORK/again.csv"
expect_exit 0 "re-ingest the dump" -- "$VIDREC" prepare "$WORK/again.csv" -o "$WORK/again.vrd" --strict -q
expect_exit 0 "inspect --json edge" -- "$VIDREC" inspect --json "$WORK/edge.vrd"

# Paths that are not UTF-8 (JSON must be): the run and later commands do not fail after their work.
ODD=$WORK/$(printf 'odd\377\303')
mkdir -p "$ODD"
cp "$DIRTY" "$ODD/in.csv"
expect_exit 0 "prepare with a non-UTF-8 path" -- "$VIDREC" prepare "$ODD/in.csv" -o "$ODD/d.vrd" \
  --summary-json "$ODD/s.json" -q
expect_exit 0 "inspect --json with a non-UTF-8 path" -- "$VIDREC" inspect --json "$ODD/d.vrd"
expect_contains "$WORK/out" "odd$(printf '\357\277\275\357\277\275')/in.csv" "path bytes replaced by U+FFFD"
expect_exit 0 "inspect text with a non-UTF-8 path" -- "$VIDREC" inspect "$ODD/d.vrd"
expect_exit 0 "train with a non-UTF-8 path" -- "$VIDREC" train "$ODD/d.vrd" -o "$ODD/m.vrm" --factors 2 \
  --iterations 2 -q
expect_exit 0 "inspect --json model with a non-UTF-8 path" -- "$VIDREC" inspect --json "$ODD/m.vrm"

# Synthetic dirty, awkward logs: exactly the manifest's counts.
if /usr/bin/python3 -c 'import numpy' 2>/dev/null && [ -f "$ROOT/../shared/tools/synth.py" ]; then
  /usr/bin/python3 "$ROOT/../shared/tools/synth.py" --users 300 --videos 200 --events 20000 --seed 9 \
    --dirty 0.02 --awkward -o "$WORK/synth.csv" --manifest "$WORK/m.json"
  expect_exit 0 "prepare synthetic" -- "$VIDREC" prepare "$WORK/synth.csv" -o "$WORK/synth.vrd" \
    --summary-json "$WORK/synth.json" -q
  for key in rows_valid rows_malformed users videos pairs value_sum; do
    expect_eq "$(json_count $key "$WORK/synth.json")" "$(json_count $key "$WORK/m.json")" "synthetic $key"
  done
  expect_eq "$(/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); s=json.load(open(sys.argv[2]))
print(all(s["malformed_by_reason"][k] == n for k, n in m["malformed_by_kind"].items()))' "$WORK/m.json" \
    "$WORK/synth.json")" "True" "synthetic malformed_by_reason matches the manifest's kinds"
fi

# Weights, ignored types and pruning.
expect_exit 0 "weights" -- "$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/w.vrd" \
  --weight like=5 --ignore-type complete --summary-json "$WORK/w.json" -q
expect_eq "$(json_count rows_ignored "$WORK/w.json")" "7" "ignored complete rows"
expect_eq "$(json_count value_sum "$WORK/w.json")" "66" "weighted value sum (31 watch x 1 + 7 like x 5)"
expect_exit 0 "pruning" -- "$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/p.vrd" \
  --min-user-events 5 --summary-json "$WORK/p.json" -q
expect_eq "$(json_count users "$WORK/p.json")" "5" "users with at least 5 events kept"

# Damaged dataset files: clear errors, exit 1, never a crash.
size=$(wc -c <"$WORK/d.vrd")
head -c $((size / 2)) "$WORK/d.vrd" >"$WORK/trunc.vrd"
expect_exit 1 "truncated dataset" -- "$VIDREC" inspect "$WORK/trunc.vrd"
expect_contains "$WORK/err" "trunc.vrd: truncated" "truncated message"
cp "$WORK/d.vrd" "$WORK/flip.vrd"
at=$(grep -obUa "u003" "$WORK/d.vrd" | head -1 | cut -d: -f1)  # inside the user id section
printf 'X' | dd of="$WORK/flip.vrd" bs=1 seek="$at" conv=notrunc status=none
expect_exit 1 "bit-flipped dataset" -- "$VIDREC" inspect "$WORK/flip.vrd"
expect_contains "$WORK/err" "flip.vrd: corrupt file (checksum mismatch" "corrupt message"
: >"$WORK/empty.vrd"
expect_exit 1 "empty dataset file" -- "$VIDREC" inspect "$WORK/empty.vrd"
expect_contains "$WORK/err" "empty file" "empty message"
expect_exit 1 "not a vidrec file" -- "$VIDREC" inspect "$DIRTY"
expect_contains "$WORK/err" "not a vidrec" "wrong magic message"
cp "$WORK/d.vrd" "$WORK/newer.vrd"
printf '\011' | dd of="$WORK/newer.vrd" bs=1 seek=4 conv=notrunc status=none
expect_exit 1 "newer format" -- "$VIDREC" inspect "$WORK/newer.vrd"
expect_contains "$WORK/err" "written by a newer vidrec" "newer version message"

# The example data.
expect_exit 0 "prepare example" -- "$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/ex.vrd"
expect_exit 0 "inspect json" -- "$VIDREC" inspect --json "$WORK/ex.vrd"
expect_contains "$WORK/out" '"pairs": 31' "example pairs"

finish
