#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fault injection on the real binary: kill -9 of prepare and train at random
# moments, writes that fail part-way (file size limit), and damaged input
# files of every kind. The previous output must survive intact every time.
# Usage: fault_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
KILLS=${KILLS:-20}

# A log big enough that prepare and train take a moment.
awk 'BEGIN { srand(11); print "userId,videoId,interactionType,interactionValue,location,timestamp";
  for (i = 0; i < 400000; i++) printf "u%d,v%d,watch,%d,X,%d\n", int(rand() * 20000), int(rand() * 3000), 1 + int(rand() * 3), i }' \
  >"$WORK/log.csv"
"$VIDREC" prepare "$WORK/log.csv" -o "$WORK/d.vrd" -q && "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factors 16 \
  --iterations 2 -q || { echo "setup failed"; exit 1; }
cp "$WORK/d.vrd" "$WORK/d.keep"
cp "$WORK/m.vrm" "$WORK/m.keep"
temps() { find "$WORK" -maxdepth 1 -name "$1.tmp.*" | wc -l; }

# kill_loop NAME OUTPUT KEEP CHECK -- command...: kill -9 the command at random
# moments KILLS times; OUTPUT must equal KEEP (or be a complete new file when
# the run won the race), and at most one temporary may exist at any time.
kill_loop() {
  local name=$1 out=$2 keep=$3
  shift 4
  local damaged=0 piled=0
  for i in $(seq "$KILLS"); do
    "$@" &
    local pid=$!
    sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if ! cmp -s "$out" "$keep"; then
      if "$VIDREC" inspect "$out" >/dev/null 2>&1; then cp "$out" "$keep"; else damaged=$((damaged + 1)); fi
    fi
    [ "$(temps "$(basename "$out")")" -le 1 ] || piled=$((piled + 1))
  done
  expect_eq "$damaged" "0" "$name: kill -9 x$KILLS never damages the previous output"
  expect_eq "$piled" "0" "$name: temporaries do not pile up"
}
kill_loop prepare "$WORK/d.vrd" "$WORK/d.keep" -- "$VIDREC" prepare "$WORK/log.csv" -o "$WORK/d.vrd" -q
kill_loop train "$WORK/m.vrm" "$WORK/m.keep" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factors 64 --iterations 30 -q
"$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factors 16 --iterations 1 -q
expect_eq "$(temps m.vrm)" "0" "the next run clears a killed run's temporary"
cp "$WORK/m.vrm" "$WORK/m.keep"

# A write that fails part-way (file size limit): exit 1, a clear message, the
# old file intact and no temporary left.
expect_exit 1 "prepare past ulimit -f" -- bash -c "ulimit -f 64; exec '$VIDREC' prepare '$WORK/log.csv' -o '$WORK/d.vrd' -q"
expect_contains "$WORK/err" "write failed" "write failure named"
cmp -s "$WORK/d.vrd" "$WORK/d.keep" && pass || fail "dataset changed by a failed write"
expect_exit 1 "train past ulimit -f" -- bash -c "ulimit -f 64; exec '$VIDREC' train '$WORK/d.vrd' -o '$WORK/m.vrm' --factors 16 --iterations 1 -q"
expect_contains "$WORK/err" "File too large" "EFBIG reported"
cmp -s "$WORK/m.vrm" "$WORK/m.keep" && pass || fail "model changed by a failed write"
expect_eq "$(temps m.vrm)$(temps d.vrd)" "00" "no temporary left by a failed write"

# Damaged files of every kind, read by every command: exit 1 with the file
# named, never a crash (exit >= 128) or a hang (timeout).
damage() {
  local src=$1 kind=$2 dst=$3 size
  size=$(wc -c <"$src")
  case $kind in
    truncated) head -c $((size * 2 / 3)) "$src" >"$dst" ;;
    zero) : >"$dst" ;;
    flipped) cp "$src" "$dst"; printf '\x5a' | dd of="$dst" bs=1 seek=$((size / 2)) conv=notrunc status=none ;;
    version) cp "$src" "$dst"; printf '\x07' | dd of="$dst" bs=1 seek=4 conv=notrunc status=none ;;
    garbage) head -c 4096 /dev/urandom >"$dst" ;;
  esac
}
for kind in truncated zero flipped version garbage; do
  damage "$WORK/d.keep" "$kind" "$WORK/bad.vrd"
  damage "$WORK/m.keep" "$kind" "$WORK/bad.vrm"
  for cmd in "inspect $WORK/bad.vrd" "train $WORK/bad.vrd -o $WORK/x.vrm -q" "inspect $WORK/bad.vrm" \
    "recommend --model $WORK/bad.vrm --user u1 --verify" "similar --model $WORK/bad.vrm --video v1 --verify" \
    "split $WORK/bad.vrd -o $WORK/s1.vrd --test $WORK/s2.vrd"; do
    # shellcheck disable=SC2086
    expect_exit 1 "$kind: vidrec $cmd" -- timeout 20 "$VIDREC" $cmd
    expect_contains "$WORK/err" "bad.vr" "$kind: file named by vidrec ${cmd%% *}"
  done
done

finish
