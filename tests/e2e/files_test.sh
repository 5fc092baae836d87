#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile file arguments on the real binary: outputs that name an input or
# each other, side outputs of a refused run, outputs through symbolic links,
# and inputs that are not regular files (devices, FIFOs, endless pipes).
# Usage: files_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
DIRTY=$ROOT/tests/data/dirty.csv
EX=$ROOT/examples/interactions.csv
T="timeout 20"  # a hang is a failure (exit 124), not a stuck suite

"$VIDREC" prepare "$EX" -o "$WORK/ex.vrd" -q && "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/m.vrm" --factors 4 \
  --iterations 2 -q || { echo "setup failed"; exit 1; }
checksum() { "$VIDREC" inspect --json "$1" | grep content_checksum; }
same() { cmp -s "$1" "$2" && pass || fail "$3"; }
is_link() { [ -L "$1" ] && pass || fail "$2: $1 is no longer a symbolic link"; }
# hold_lock OUTPUT.lock: another vidrec writes OUTPUT meanwhile -- a prepare
# that holds the lock while it waits for input from a FIFO no one opens.
mkfifo "$WORK/never.fifo"
hold_lock() {
  "$VIDREC" prepare "$WORK/never.fifo" -o "${1%.lock}" -q 2>/dev/null &
  holder=$!
  wait_for_lock "$1" "$holder"
}
# wait_for_lock LOCKFILE PID: until PID holds it (a writer records its pid
# there once locked; probing with flock(1) would race the writer).
wait_for_lock() {
  for _ in $(seq 200); do [ "$(cat "$1" 2>/dev/null)" = "$2" ] && return 0; sleep 0.05; done
  fail "$1: pid $2 never took the lock"
}
release_lock() { kill -9 "$holder"; wait "$holder" 2>/dev/null; }

# ---- 7. Side outputs never clobber files ------------------------------------

# A prepare refused by the lock leaves the previous run's rejects and summary.
"$VIDREC" prepare "$DIRTY" -o "$WORK/d.vrd" --rejects "$WORK/rej.tsv" --summary-json "$WORK/s.json" -q
cp "$WORK/rej.tsv" "$WORK/rej.keep"
cp "$WORK/s.json" "$WORK/s.keep"
expect_eq "$(wc -l <"$WORK/rej.keep")" "9" "first run's rejects"
hold_lock "$WORK/d.vrd.lock"
expect_exit 1 "prepare refused by the lock" -- "$VIDREC" prepare "$EX" -o "$WORK/d.vrd" --rejects "$WORK/rej.tsv" \
  --summary-json "$WORK/s.json" -q
expect_contains "$WORK/err" "another vidrec is writing" "lock named"
same "$WORK/rej.tsv" "$WORK/rej.keep" "a refused prepare truncated the rejects file"
same "$WORK/s.json" "$WORK/s.keep" "a refused prepare touched the summary"
release_lock
# Another prepare holding the rejects file's lock: refused too, nothing touched.
hold_lock "$WORK/rej.tsv.lock"
expect_exit 1 "rejects file locked" -- "$VIDREC" prepare "$EX" -o "$WORK/other.vrd" --rejects "$WORK/rej.tsv" -q
same "$WORK/rej.tsv" "$WORK/rej.keep" "rejects changed while another writer held them"
[ ! -e "$WORK/other.vrd" ] && pass || fail "refused run wrote its dataset"
release_lock

# A run that fails (--strict) publishes no rejects: the previous ones stay.
expect_exit 1 "strict run" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/d.vrd" --rejects "$WORK/rej.tsv" --strict -q
same "$WORK/rej.tsv" "$WORK/rej.keep" "a failed --strict run truncated the rejects"
expect_eq "$(find "$WORK" -name '*.tmp.*' | wc -l)" "0" "no temporaries left"

# An output naming an input is a usage error, and the input is untouched:
# same path, another spelling, a symbolic link, a hard link.
cp "$DIRTY" "$WORK/raw.csv"
cp "$DIRTY" "$WORK/raw.keep"
ln -s raw.csv "$WORK/raw-link.csv"
ln "$WORK/raw.csv" "$WORK/raw-hard.csv"
for spelling in "$WORK/raw.csv" "$WORK/./raw.csv" "$WORK/raw-link.csv" "$WORK/raw-hard.csv"; do
  for opt in --rejects --summary-json -o; do
    args=(-o "$WORK/x.vrd")
    [ "$opt" = -o ] && args=()
    expect_exit 2 "prepare $opt $spelling (the input)" -- "$VIDREC" prepare "$WORK/raw.csv" "${args[@]}" "$opt" "$spelling" -q
    expect_contains "$WORK/err" "names the input" "$opt naming the input explained"
    same "$WORK/raw.csv" "$WORK/raw.keep" "prepare $opt $spelling changed the input"
  done
done
is_link "$WORK/raw-link.csv" "refused prepare"
[ ! -e "$WORK/x.vrd" ] && pass || fail "a refused prepare wrote its dataset"

# Two outputs in one file, or two on stdout: usage errors, nothing written.
expect_exit 2 "-o - --rejects -" -- "$VIDREC" prepare "$DIRTY" -o - --rejects - -q
expect_contains "$WORK/err" "both write to stdout" "stdout clash explained"
expect_eq "$(wc -c <"$WORK/out")" "0" "nothing on stdout"
expect_exit 2 "-o - --summary-json -" -- "$VIDREC" prepare "$DIRTY" -o - --summary-json - -q
expect_exit 2 "--rejects - --summary-json -" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/x.vrd" --rejects - --summary-json - -q
expect_exit 2 "--rejects and --summary-json the same file" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/x.vrd" \
  --rejects "$WORK/side" --summary-json "$WORK/./side" -q
expect_exit 2 "-o and --rejects the same file" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/x.vrd" --rejects "$WORK/x.vrd" -q
[ ! -e "$WORK/side" ] && [ ! -e "$WORK/x.vrd" ] && pass || fail "a usage error wrote a file"
# Still fine: rejects to stdout with the dataset in a file.
expect_exit 0 "--rejects - with -o FILE" -- "$VIDREC" prepare "$DIRTY" -o "$WORK/x.vrd" --rejects - -q
expect_eq "$(wc -l <"$WORK/out")" "9" "rejects on stdout"

# train and split: -o (and --test) naming the dataset or each other.
cp "$WORK/ex.vrd" "$WORK/ds.vrd"
cp "$WORK/ex.vrd" "$WORK/ds.keep"
ln -s ds.vrd "$WORK/ds-link.vrd"
ln "$WORK/ds.vrd" "$WORK/ds-hard.vrd"
for spelling in "$WORK/ds.vrd" "$WORK/ds-link.vrd" "$WORK/ds-hard.vrd"; do
  expect_exit 2 "train -o $spelling (the dataset)" -- "$VIDREC" train "$WORK/ds.vrd" -o "$spelling" --iterations 1 -q
  expect_contains "$WORK/err" "names the input dataset" "train clash explained"
  expect_exit 2 "split -o $spelling (the dataset)" -- "$VIDREC" split "$WORK/ds.vrd" -o "$spelling" --test "$WORK/t.vrd"
  expect_exit 2 "split --test $spelling (the dataset)" -- "$VIDREC" split "$WORK/ds.vrd" -o "$WORK/t.vrd" --test "$spelling"
  same "$WORK/ds.vrd" "$WORK/ds.keep" "dataset changed via $spelling"
done
ln -s t1.vrd "$WORK/t1-link.vrd"
expect_exit 2 "split -o and --test one file via a link" -- "$VIDREC" split "$WORK/ds.vrd" -o "$WORK/t1.vrd" --test "$WORK/t1-link.vrd"
expect_exit 2 "split -o - --test -" -- "$VIDREC" split "$WORK/ds.vrd" -o - --test -
expect_eq "$(wc -c <"$WORK/out")" "0" "split wrote nothing to stdout"
[ ! -e "$WORK/t.vrd" ] && [ ! -e "$WORK/t1.vrd" ] && pass || fail "a refused split wrote a file"

# ---- 8. Outputs through symbolic links --------------------------------------

want=$(checksum "$WORK/ex.vrd")
mkdir -p "$WORK/real" "$WORK/links"
cp "$WORK/d.vrd" "$WORK/real/data.vrd"
ln -s ../real/data.vrd "$WORK/links/one.vrd"  # relative, in another directory
ln -s one.vrd "$WORK/links/two.vrd"           # a chain of two
for link in "$WORK/links/one.vrd" "$WORK/links/two.vrd"; do
  cp "$WORK/d.vrd" "$WORK/real/data.vrd"
  expect_exit 0 "prepare -o $link" -- "$VIDREC" prepare "$EX" -o "$link" -q
  is_link "$link" "prepare through a link"
  expect_eq "$(checksum "$WORK/real/data.vrd")" "$want" "the link's target holds the new dataset"
done
expect_eq "$(find "$WORK/real" "$WORK/links" -name '*.tmp.*' -o -name '*.lock' -path '*links*' | wc -l)" "0" \
  "temporaries and locks live beside the target"
ln -s ../real/new.vrd "$WORK/links/dangling.vrd"
expect_exit 0 "prepare through a dangling link" -- "$VIDREC" prepare "$EX" -o "$WORK/links/dangling.vrd" -q
is_link "$WORK/links/dangling.vrd" "dangling link"
expect_eq "$(checksum "$WORK/real/new.vrd")" "$want" "the dangling link's target created"

cp "$WORK/m.vrm" "$WORK/real/model.vrm"
ln -s ../real/model.vrm "$WORK/links/model.vrm"
expect_exit 0 "train -o link" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/links/model.vrm" --factors 6 --iterations 1 -q
is_link "$WORK/links/model.vrm" "train through a link"
expect_exit 0 "inspect trained target" -- "$VIDREC" inspect --json "$WORK/real/model.vrm"
expect_contains "$WORK/out" '"factors": 6' "the target holds the new model"
ln -s ../real/train.vrd "$WORK/links/train.vrd"
ln -s ../real/test.vrd "$WORK/links/test.vrd"
expect_exit 0 "split through links" -- "$VIDREC" split "$WORK/ex.vrd" -o "$WORK/links/train.vrd" --test "$WORK/links/test.vrd" -q --test-fraction 0.5
is_link "$WORK/links/train.vrd" "split -o through a link"
is_link "$WORK/links/test.vrd" "split --test through a link"
[ -f "$WORK/real/train.vrd" ] && [ -f "$WORK/real/test.vrd" ] && pass || fail "split targets not written"

# Writers through the link and through the target exclude each other, both ways.
hold_lock "$WORK/real/model.vrm.lock"
cp "$WORK/real/model.vrm" "$WORK/model.keep"
expect_exit 1 "train via link while the target is being written" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/links/model.vrm" --iterations 1 -q
expect_contains "$WORK/err" "another vidrec is writing" "link writer refused"
ln -s model.vrm "$WORK/links/model2.vrm"
expect_exit 1 "prepare via a chain while the target is being written" -- "$VIDREC" prepare "$EX" -o "$WORK/links/model2.vrm" -q
release_lock
same "$WORK/real/model.vrm" "$WORK/model.keep" "refused writer changed the target"
# Two real writers: a slow train through the link holds the lock the target's writer needs.
"$VIDREC" train "$WORK/ex.vrd" -o "$WORK/links/model.vrm" --factors 64 --iterations 100000000 -q &
slow=$!
wait_for_lock "$WORK/real/model.vrm.lock" "$slow"
expect_exit 1 "train of the target while a writer via the link runs" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/real/model.vrm" --iterations 1 -q
expect_contains "$WORK/err" "another vidrec is writing" "target writer refused"
kill -9 "$slow"
wait "$slow" 2>/dev/null
is_link "$WORK/links/model.vrm" "after concurrent writers"

# ---- 10. Files that are not files -------------------------------------------

mkfifo "$WORK/fifo"
for bad in /dev/zero "$WORK/fifo" "$WORK/real"; do
  for cmd in "inspect $bad" "recommend --model $bad --user u1" "similar --model $bad --video v1" \
    "train $bad -o $WORK/y.vrm -q" "split $bad -o $WORK/y1.vrd --test $WORK/y2.vrd" \
    "evaluate --model $bad --test $WORK/ex.vrd" "evaluate --model $WORK/m.vrm --test $bad" \
    "serve --model $bad --port 0 -q" \
    "recommend --model $WORK/m.vrm --users-file $bad" "recommend --model $WORK/m.vrm --user u1 --exclude $bad" \
    "recommend --model $WORK/m.vrm --user u1 --only $bad" "similar --model $WORK/m.vrm --video v1 --only $bad" \
    "prepare $bad -o $WORK/y.vrd -q"; do
    [ "$bad" = "$WORK/fifo" ] && [ "${cmd%% *}" = prepare ] && continue  # a FIFO is a fine CSV input
    # shellcheck disable=SC2086
    expect_exit 1 "vidrec $cmd" -- $T "$VIDREC" $cmd
    expect_contains "$WORK/err" "$bad: not a regular file" "vidrec ${cmd%% *} names the file and why"
  done
done
expect_exit 1 "--config /dev/zero" -- $T "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/y.vrm" --config /dev/zero
expect_contains "$WORK/err" "/dev/zero: not a regular file" "config file named"
expect_exit 1 "--config FIFO" -- $T "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/y.vrm" --config "$WORK/fifo"
expect_exit 2 "--config missing stays a usage error" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/y.vrm" --config "$WORK/none.toml"
[ ! -e "$WORK/y.vrm" ] && [ ! -e "$WORK/y.vrd" ] && pass || fail "a refused run wrote a file"

# Outputs that are not regular files are refused, not replaced by rename.
expect_exit 1 "-o FIFO" -- $T "$VIDREC" prepare "$EX" -o "$WORK/fifo" -q
expect_contains "$WORK/err" "fifo: not a regular file" "FIFO output named"
[ -p "$WORK/fifo" ] && pass || fail "the FIFO was replaced"
expect_exit 1 "-o directory" -- "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/real" -q
ln -s /dev/null "$WORK/null-link"
expect_exit 1 "-o link to /dev/null" -- "$VIDREC" split "$WORK/ex.vrd" -o "$WORK/null-link" --test "$WORK/y2.vrd"
[ -c /dev/null ] && pass || fail "/dev/null is no longer a device"

# stdin ("-") that never ends is read only as far as the header declares.
expect_exit 1 "inspect - < /dev/zero" -- $T "$VIDREC" inspect - </dev/zero
expect_contains "$WORK/err" "not a vidrec" "zeros are not a vidrec file"
expect_exit 1 "a model followed by endless zeros" -- $T bash -c "cat '$WORK/m.vrm' /dev/zero | '$VIDREC' inspect -"
expect_contains "$WORK/err" "trailing bytes" "the bytes past the declared end reported"
expect_exit 1 "a dataset followed by endless zeros" -- $T bash -c "cat '$WORK/ex.vrd' /dev/zero | '$VIDREC' train - -o '$WORK/y.vrm' -q"
expect_exit 1 "a header declaring 2^62 bytes" -- $T bash -c \
  "{ head -c 16 '$WORK/m.vrm'; printf '\\0\\0\\0\\0\\0\\0\\0\\100'; tail -c +25 '$WORK/m.vrm'; cat /dev/zero; } | '$VIDREC' inspect -"
expect_contains "$WORK/err" "more than this machine's memory" "huge declared size refused"
expect_exit 0 "a model through a pipe" -- $T bash -c "cat '$WORK/m.vrm' | '$VIDREC' inspect -"
expect_exit 0 "a dataset through a pipe" -- $T bash -c "cat '$WORK/ex.vrd' | '$VIDREC' train - -o '$WORK/piped.vrm' -q"

# CSV inputs are streamed, so FIFOs and pipes are fine there.
want=$(checksum "$WORK/ex.vrd")
expect_exit 0 "prepare from process substitution" -- $T bash -c "'$VIDREC' prepare <(cat '$EX') -o '$WORK/ps.vrd' -q"
expect_eq "$(checksum "$WORK/ps.vrd")" "$want" "process substitution gives the same data"
cat "$EX" >"$WORK/fifo" &
expect_exit 0 "prepare from a FIFO" -- $T "$VIDREC" prepare "$WORK/fifo" -o "$WORK/fifo.vrd" -q
wait
expect_eq "$(checksum "$WORK/fifo.vrd")" "$want" "a FIFO gives the same data"

# sagemaker train: a hyperparameters file that is a FIFO is refused, not waited on.
SM=$WORK/sm
mkdir -p "$SM/input/config" "$SM/input/data/training"
cp "$EX" "$SM/input/data/training/"
mkfifo "$SM/input/config/hyperparameters.json"
expect_exit 1 "sagemaker hyperparameters FIFO" -- $T "$VIDREC" sagemaker --root "$SM" train -q
expect_contains "$WORK/err" "hyperparameters.json: not a regular file" "hyperparameters file named"

finish
