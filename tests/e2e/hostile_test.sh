#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile files for the commands that read models without verifying them
# whole (recommend, similar): single damaged bytes anywhere in a model with
# multi-block sections, in the sections a query reads and elsewhere. Each
# command must exit 1 naming the file, or print exactly the undamaged answer;
# never a crash, never another answer with exit 0.
# The rest of the hostile-input sweep lives beside the commands it drives:
# prepare_test.sh (values beyond float32, overflowing sums, gzip members and
# trailing bytes, CR-only logs, invalid UTF-8, timestamps at the year edges),
# files_test.sh (outputs naming inputs, side outputs, symlinked outputs,
# devices/FIFOs/directories and endless pipes as inputs), serve_test.sh (deep
# JSON, extreme fold-in values, models rewritten in place under load, requests
# refused by the HTTP library counted).
# Usage: hostile_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
FLIPS=${FLIPS:-60}

# 3,000 users x 400 videos x 16 factors: the factor, id and seen sections span
# several 64 KiB checksum blocks.
awk 'BEGIN { srand(5); print "userId,videoId,interactionType,interactionValue,location,timestamp";
  for (i = 0; i < 60000; i++) printf "user%05d,video%04d,watch,%d,X,%d\n", int(rand() * 3000), int(rand() * 400), 1 + int(rand() * 3), i }' \
  >"$WORK/log.csv"
"$VIDREC" prepare "$WORK/log.csv" -o "$WORK/d.vrd" -q && "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factors 16 \
  --iterations 2 -q || { echo "setup failed"; exit 1; }
size=$(stat -c %s "$WORK/m.vrm")
printf 'user%05d\n' $(seq 0 97 2999) >"$WORK/users.txt"

# answers MODEL DIR -- what the read-only commands print for MODEL: command
# n's stdout in DIR/out.n, its exit code in DIR/code.n, stderr in DIR/err.n.
answers() {
  local n=0 v dir=$2
  mkdir -p "$dir"
  run() {
    n=$((n + 1))
    "$@" >"$dir/out.$n" 2>"$dir/err.$n"
    echo $? >"$dir/code.$n"
  }
  run "$VIDREC" recommend --model "$1" --users-file "$WORK/users.txt" -k 5 --format csv -q
  run "$VIDREC" recommend --model "$1" --user nobody -k 3
  for v in video0000 video0123 video0399; do run "$VIDREC" similar --model "$1" --video "$v" -k 4; done
}
answers "$WORK/m.vrm" "$WORK/good"
expect_eq "$(cat "$WORK"/good/code.* | tr -d '\n')" 00000 "the undamaged model answers"

# flip FILE POS -- inverts the lowest bit of the byte at POS.
flip() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Every command's answer to a damaged model: exit 1 naming the file, or
# exit 0 with exactly the undamaged output.
refused=0 unchanged=0 wrong=0
for i in $(seq "$FLIPS"); do
  # Half the flips in the first 64 KiB (header, table, small sections), half anywhere.
  if [ $((i % 2)) -eq 0 ]; then span=65536; else span=$size; fi
  pos=$(((RANDOM * 32768 + RANDOM) % span))
  cp "$WORK/m.vrm" "$WORK/bad.vrm"
  flip "$WORK/bad.vrm" "$pos"
  rm -rf "$WORK/bad"
  answers "$WORK/bad.vrm" "$WORK/bad"
  for n in 1 2 3 4 5; do
    code=$(cat "$WORK/bad/code.$n")
    if [ "$code" = 0 ] && cmp -s "$WORK/bad/out.$n" "$WORK/good/out.$n"; then
      unchanged=$((unchanged + 1))
    elif [ "$code" = 1 ] && grep -q "bad.vrm" "$WORK/bad/err.$n"; then
      refused=$((refused + 1))
    else
      wrong=$((wrong + 1))
      echo "byte $pos, command $n: exit $code, $(head -c 300 "$WORK/bad/err.$n")" >&2
    fi
  done
done
echo "model damage: $FLIPS flips x 5 commands: $refused refused, $unchanged unchanged, $wrong wrong" >&2
expect_eq "$wrong" 0 "a damaged model is refused or changes nothing printed"
[ "$refused" -gt 0 ] && pass || fail "no damage was ever detected"

finish
