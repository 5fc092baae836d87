#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec train` on the real binary: options, config file,
# model inspection, damaged models, the output lock, and kill -9 safety.
# Usage: train_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

"$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/ex.vrd" -q || { echo "prepare failed"; exit 1; }

# Usage errors exit 2, data errors 1.
expect_exit 2 "train without -o" -- "$VIDREC" train "$WORK/ex.vrd"
expect_exit 2 "factors 0" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/m.vrm" --factors 0
expect_contains "$WORK/err" "factors must be" "factors rule named"
expect_exit 2 "unknown solver" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/m.vrm" --solver sgd
expect_exit 1 "missing dataset" -- "$VIDREC" train "$WORK/none.vrd" -o "$WORK/m.vrm"
expect_contains "$WORK/err" "none.vrd" "missing dataset named"
expect_exit 1 "model given as dataset" -- "$VIDREC" train "$ROOT/examples/interactions.csv" -o "$WORK/m.vrm"
expect_contains "$WORK/err" "not a vidrec dataset" "csv given as dataset"

# A normal run: one progress line per iteration on stderr, nothing on stdout.
expect_exit 0 "train" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/m.vrm" --factors 8 --iterations 4 --loss
expect_eq "$(wc -c <"$WORK/out")" "0" "train prints nothing on stdout"
expect_eq "$(grep -c 'iteration [0-9]/4' "$WORK/err")" "4" "one progress line per iteration"
expect_contains "$WORK/err" "loss" "loss printed with --loss"
expect_exit 0 "inspect model" -- "$VIDREC" inspect --json "$WORK/m.vrm"
expect_contains "$WORK/out" '"kind": "model"' "inspect kind"
expect_contains "$WORK/out" '"factors": 8' "inspect factors"
expect_contains "$WORK/out" '"users": 10' "inspect users"
expect_exit 0 "quiet" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/q.vrm" --factors 8 --iterations 4 -q
expect_eq "$(wc -c <"$WORK/err")" "0" "--quiet silences stderr"

# Same seed and data: identical factors, whatever the thread count.
fac() { "$VIDREC" inspect --json "$1" | grep factors_checksum; }
"$VIDREC" train "$WORK/ex.vrd" -o "$WORK/t1.vrm" --factors 8 --iterations 4 --threads 1 -q
expect_eq "$(fac "$WORK/t1.vrm")" "$(fac "$WORK/q.vrm")" "deterministic across thread counts"

# Settings from a config file (for cron).
printf '[train]\nfactors = 6\niterations = 2\nsolver = "cholesky"\n' >"$WORK/train.toml"
expect_exit 0 "config file" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/c.vrm" --config "$WORK/train.toml" -q
"$VIDREC" inspect --json "$WORK/c.vrm" >"$WORK/c.json"
expect_contains "$WORK/c.json" '"factors": 6' "config factors"
expect_contains "$WORK/c.json" '"solver": "cholesky"' "config solver"
expect_exit 2 "bad config value" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/c.vrm" --config "$WORK/nope.toml"

# Damaged models are refused.
size=$(wc -c <"$WORK/m.vrm")
head -c $((size - 64)) "$WORK/m.vrm" >"$WORK/trunc.vrm"
expect_exit 1 "truncated model" -- "$VIDREC" inspect "$WORK/trunc.vrm"
expect_contains "$WORK/err" "trunc.vrm: truncated" "truncated model message"
cp "$WORK/m.vrm" "$WORK/flip.vrm"
at=$(grep -obUa "u007" "$WORK/m.vrm" | head -1 | cut -d: -f1)
printf 'X' | dd of="$WORK/flip.vrm" bs=1 seek="$at" conv=notrunc status=none
expect_exit 1 "bit-flipped model" -- "$VIDREC" inspect "$WORK/flip.vrm"
expect_contains "$WORK/err" "checksum mismatch" "bit-flip message"

# A second writer of the same output is refused while the first holds the lock.
exec 9>"$WORK/m.vrm.lock"
flock -n 9
expect_exit 1 "concurrent train" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/m.vrm" --factors 8 -q
expect_contains "$WORK/err" "another vidrec is writing" "lock message"
exec 9>&-
expect_exit 0 "train after the lock is released" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/m.vrm" --factors 8 -q

# kill -9 at random moments never damages the previous model, and the next
# run clears the temporaries a killed writer left.
awk 'BEGIN { srand(7); print "userId,videoId,interactionType,interactionValue,location,timestamp";
  for (i = 0; i < 60000; i++) printf "u%d,v%d,watch,%d,X,%d\n", int(rand() * 3000), int(rand() * 800), 1 + int(rand() * 3), i }' \
  >"$WORK/big.csv"
"$VIDREC" prepare "$WORK/big.csv" -o "$WORK/big.vrd" -q
"$VIDREC" train "$WORK/big.vrd" -o "$WORK/big.vrm" --factors 32 --iterations 2 -q
cp "$WORK/big.vrm" "$WORK/big.keep"
for i in $(seq 1 10); do
  "$VIDREC" train "$WORK/big.vrd" -o "$WORK/big.vrm" --factors 32 --iterations 40 --seed "$i" -q &
  pid=$!
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if cmp -s "$WORK/big.vrm" "$WORK/big.keep"; then
    pass
  elif "$VIDREC" inspect "$WORK/big.vrm" >/dev/null 2>&1; then
    cp "$WORK/big.vrm" "$WORK/big.keep"  # the run finished before the kill: a complete new model
    pass
  else
    fail "kill -9 #$i left a damaged model"
  fi
done
expect_exit 0 "train after kills" -- "$VIDREC" train "$WORK/big.vrd" -o "$WORK/big.vrm" --factors 4 --iterations 1 -q
expect_eq "$(ls "$WORK" | grep -c 'big.vrm.tmp')" "0" "stale temporaries removed"

finish
