#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec recommend` and `vidrec similar` on the real binary.
# Usage: recommend_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

"$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/ex.vrd" -q &&
  "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/m.vrm" --config "$ROOT/examples/train.toml" -q ||
  { echo "setup failed"; exit 1; }
M=$WORK/m.vrm
NUM='-?[0-9][0-9.e+-]*'
rec() { printf '\\{"videoId":"%s","score":%s\\}' "$1" "$NUM"; }

# The seed's query, exactly the seed's shape: one line, u001's unseen videos.
expect_exit 0 "recommend u001" -- "$VIDREC" recommend --model "$M" --user u001 -k 3
expect_eq "$(wc -l <"$WORK/out")" "1" "one line of JSON"
if grep -Eq "^\\{\"userId\":\"u001\",\"recommendations\":\\[$(rec v005),$(rec v008),$(rec v004)\\]\\}$" "$WORK/out"; then
  pass
else
  fail "u001 JSON: $(cat "$WORK/out")"
fi
expect_eq "$(wc -c <"$WORK/err")" "0" "nothing on stderr"

# k beyond the catalogue: every unseen video (8 videos, u001 saw 3).
expect_exit 0 "k 100" -- "$VIDREC" recommend --model "$M" --user u001 -k 100
expect_eq "$(grep -o '"videoId"' "$WORK/out" | wc -l)" "5" "all unseen videos"
expect_exit 0 "include seen" -- "$VIDREC" recommend --model "$M" --user u001 -k 100 --include-seen
expect_eq "$(grep -o '"videoId"' "$WORK/out" | wc -l)" "8" "seen videos kept"

# Unknown users: popular videos, marked; or an error with --strict-users.
expect_exit 0 "unknown user" -- "$VIDREC" recommend --model "$M" --user nobody -k 2
expect_contains "$WORK/out" '{"userId":"nobody","source":"popular","recommendations":[{"videoId":"v001","score":0.5},{"videoId":"v004","score":0.5}]}' "popular fallback"
expect_exit 1 "strict users" -- "$VIDREC" recommend --model "$M" --user nobody --strict-users
expect_contains "$WORK/err" "user 'nobody' is not in the model" "strict users message"

# Usage and data errors.
expect_exit 2 "k 0" -- "$VIDREC" recommend --model "$M" --user u001 -k 0
expect_contains "$WORK/err" "-k must be >= 1, got 0" "k rule named"
expect_exit 2 "k negative" -- "$VIDREC" recommend --model "$M" --user u001 -k -3
expect_exit 2 "no user" -- "$VIDREC" recommend --model "$M"
expect_exit 2 "bad format" -- "$VIDREC" recommend --model "$M" --user u001 --format xml
expect_exit 1 "missing model" -- "$VIDREC" recommend --model "$WORK/none.vrm" --user u001
expect_contains "$WORK/err" "none.vrm" "missing model named"
expect_exit 1 "dataset as model" -- "$VIDREC" recommend --model "$WORK/ex.vrd" --user u001
expect_contains "$WORK/err" "expected a model" "wrong kind named"

# Several users: JSON Lines in order, CSV/TSV with a header, stdin lists.
expect_exit 0 "two users" -- "$VIDREC" recommend --model "$M" --user u002 --user u001 -k 2
expect_eq "$(wc -l <"$WORK/out")" "2" "two JSON lines"
expect_eq "$(head -1 "$WORK/out" | cut -c1-17)" '{"userId":"u002",' "input order kept"
expect_exit 0 "all users csv" -- "$VIDREC" recommend --model "$M" --all -k 2 --format csv
expect_eq "$(head -1 "$WORK/out")" "userId,rank,videoId,score,source" "csv header"
expect_eq "$(wc -l <"$WORK/out")" "21" "10 users x 2 + header"
expect_exit 0 "users from stdin" -- sh -c "printf 'u001\r\n\nu003\nghost\n' | '$VIDREC' recommend --model '$M' --users-file - -k 1"
expect_eq "$(wc -l <"$WORK/out")" "3" "one line per listed user"
expect_contains "$WORK/out" '"userId":"ghost","source":"popular"' "unknown user in a list"
expect_exit 0 "tsv source column" -- "$VIDREC" recommend --model "$M" --user u001 --user ghost -k 1 --format tsv
expect_eq "$(cut -f1,5 "$WORK/out" | tr '\t\n' ':;')" "userId:source;u001:model;ghost:popular;" "tsv says model or popular"

# Candidate restrictions.
printf 'v005\nv008\n' >"$WORK/ex.txt"
expect_exit 0 "exclude" -- "$VIDREC" recommend --model "$M" --user u001 -k 1 --exclude "$WORK/ex.txt"
expect_contains "$WORK/out" '"videoId":"v004"' "excluded videos skipped"
expect_exit 0 "only" -- "$VIDREC" recommend --model "$M" --user u001 -k 5 --only "$WORK/ex.txt"
expect_eq "$(grep -o '"videoId"' "$WORK/out" | wc -l)" "2" "only listed videos"

# similar
expect_exit 0 "similar" -- "$VIDREC" similar --model "$M" --video v001 -k 2
if grep -Eq "^\\{\"videoId\":\"v001\",\"similar\":\\[$(rec 'v[0-9]+'),$(rec 'v[0-9]+')\\]\\}$" "$WORK/out"; then pass; else fail "similar JSON: $(cat "$WORK/out")"; fi
grep -q '"similar":\[{"videoId":"v001"' "$WORK/out" && fail "a video is similar to itself" || pass
expect_exit 1 "similar unknown video" -- "$VIDREC" similar --model "$M" --video v999
expect_contains "$WORK/err" "video 'v999' is not in the model" "unknown video message"

# Damaged models: the header check always runs, --verify checks every byte.
size=$(wc -c <"$M")
head -c $((size - 64)) "$M" >"$WORK/trunc.vrm"
expect_exit 1 "truncated model" -- "$VIDREC" recommend --model "$WORK/trunc.vrm" --user u001
expect_contains "$WORK/err" "truncated" "truncated message"
cp "$M" "$WORK/flip.vrm"
at=$(grep -obUa "u007" "$M" | head -1 | cut -d: -f1)
printf 'X' | dd of="$WORK/flip.vrm" bs=1 seek="$at" conv=notrunc status=none
expect_exit 1 "verify finds a flipped byte" -- "$VIDREC" recommend --model "$WORK/flip.vrm" --user u001 --verify
expect_contains "$WORK/err" "checksum mismatch" "verify message"

finish
