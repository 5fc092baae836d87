#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `mpirun -np N vidrec train`: the same factors as one
# process for N = 1, 2, 3 (bit for bit: see lib/vidrec/als/distributed.hpp),
# errors on one rank reported once with the previous model left intact, and
# kill -9 of a rank. Skipped (exit 77) without mpirun or the MPI plugin.
# Usage: distributed_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

if ! command -v mpirun >/dev/null || [ ! -e "$(dirname "$VIDREC")/libvidrec_mpi.so" ]; then
  echo "SKIP: mpirun or libvidrec_mpi.so missing (apt-get install openmpi-bin libopenmpi-dev)"
  exit 77
fi
# --oversubscribe: more ranks than this machine's cores; the rsh agent is
# never used on one host, but must exist for mpirun to start.
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca plm_rsh_agent false --mca btl self,vader)
# Under the sanitizers: Open MPI keeps allocations until exit by design.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# Users in 6 taste groups, each watching videos of its group with a skew, so
# rows and columns have very different lengths (the balancing matters).
awk 'BEGIN { srand(11); print "userId,videoId,interactionType,interactionValue,location,timestamp";
  for (u = 0; u < 1500; u++) { g = u % 6; n = 3 + int(rand() * rand() * 60);
    for (e = 0; e < n; e++) { v = g * 40 + int(40 * rand() * rand()); if (rand() < 0.1) v = int(rand() * 260);
      t = 1 + int(rand() * 3); printf "u%04d,v%03d,%s,%d,USA,2025-01-%02d 10:00:00\n", u, v,
      (t == 1 ? "watch" : t == 2 ? "like" : "complete"), t, 1 + e % 28 } } }' >"$WORK/log.csv"
"$VIDREC" prepare "$WORK/log.csv" -o "$WORK/d.vrd" -q || { echo "prepare failed"; exit 1; }

fac() { "$VIDREC" inspect --json "$1" | grep factors_checksum; }
OPTS=(--factors 12 --iterations 4 --loss)
expect_exit 0 "one process" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/one.vrm" "${OPTS[@]}"
grep -o 'loss [0-9.e-]*' "$WORK/err" >"$WORK/loss.one"
"$VIDREC" recommend --model "$WORK/one.vrm" --all -k 10 --format csv -q >"$WORK/top.one"
for np in 1 2 3; do
  expect_exit 0 "train on $np ranks" -- "${MPIRUN[@]}" -np $np "$VIDREC" train "$WORK/d.vrd" -o "$WORK/n$np.vrm" "${OPTS[@]}"
  expect_eq "$(fac "$WORK/n$np.vrm")" "$(fac "$WORK/one.vrm")" "$np ranks: the single process's factors, bit for bit"
  grep -o 'loss [0-9.e-]*' "$WORK/err" >"$WORK/loss.n"
  expect_eq "$(cat "$WORK/loss.n")" "$(cat "$WORK/loss.one")" "$np ranks: the same loss, printed once per iteration"
  expect_eq "$(grep -c 'users, .* videos' "$WORK/err")" "1" "$np ranks: one summary line"
  "$VIDREC" recommend --model "$WORK/n$np.vrm" --all -k 10 --format csv -q >"$WORK/top.n"
  if cmp -s "$WORK/top.n" "$WORK/top.one"; then pass; else fail "$np ranks: top-10 lists differ"; fi
done
# Other options travel too (the exact solver, log confidence, threads per rank).
"$VIDREC" train "$WORK/d.vrd" -o "$WORK/c1.vrm" --factors 7 --iterations 3 --solver cholesky --confidence log --seed 5 -q
expect_exit 0 "cholesky on 3 ranks" -- "${MPIRUN[@]}" -np 3 "$VIDREC" train "$WORK/d.vrd" -o "$WORK/c3.vrm" \
  --factors 7 --iterations 3 --solver cholesky --confidence log --seed 5 --threads 2 -q
expect_eq "$(fac "$WORK/c3.vrm")" "$(fac "$WORK/c1.vrm")" "cholesky, log confidence, 3 ranks x 2 threads"
expect_eq "$(wc -c <"$WORK/err")" "0" "--quiet on every rank"

# A dataset smaller than one Gram block: some ranks own no users or videos.
"$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/ex.vrd" -q
"$VIDREC" train "$WORK/ex.vrd" -o "$WORK/ex1.vrm" --factors 3 --iterations 5 -q
expect_exit 0 "tiny data on 3 ranks" -- "${MPIRUN[@]}" -np 3 "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/ex3.vrm" \
  --factors 3 --iterations 5 -q
expect_eq "$(fac "$WORK/ex3.vrm")" "$(fac "$WORK/ex1.vrm")" "ranks that own nothing"

# Errors: reported once, by rank 0, the same exit codes; the model untouched.
cp "$WORK/one.vrm" "$WORK/keep.vrm"
expect_exit 2 "bad option on 2 ranks" -- "${MPIRUN[@]}" -np 2 "$VIDREC" train "$WORK/d.vrd" -o "$WORK/keep.vrm" --factors 0
expect_eq "$(grep -c 'factors must be' "$WORK/err")" "1" "usage error printed once"
# Rank 1 is given other data: refused before any training.
head -3000 "$WORK/log.csv" >"$WORK/small.csv"
"$VIDREC" prepare "$WORK/small.csv" -o "$WORK/other.vrd" -q
cat >"$WORK/split.sh" <<SH
#!/bin/sh
if [ "\$OMPI_COMM_WORLD_RANK" = 1 ]; then D=\$1; else D=\$2; fi
shift 2
exec "$VIDREC" train "\$D" "\$@"
SH
expect_exit 1 "rank 1 reads other data" -- "${MPIRUN[@]}" -np 2 sh "$WORK/split.sh" "$WORK/other.vrd" "$WORK/d.vrd" \
  -o "$WORK/keep.vrm" --factors 4 --iterations 2
expect_contains "$WORK/err" "every rank must see the same dataset" "other data named"
expect_eq "$(grep -c 'vidrec: error' "$WORK/err")" "1" "data error printed once"
expect_exit 1 "rank 1 misses the dataset" -- "${MPIRUN[@]}" -np 2 sh "$WORK/split.sh" "$WORK/none.vrd" "$WORK/d.vrd" \
  -o "$WORK/keep.vrm" --factors 4 --iterations 2
expect_contains "$WORK/err" "rank 1: " "the failing rank named"
expect_contains "$WORK/err" "none.vrd" "the missing file named"
# The model write fails on rank 0 while the other ranks stream it their users
# (file size limit): reported once, nobody left waiting.
# (Rank 0 alone is limited, and talks over TCP: Open MPI's shared memory
# would hit the limit first.)
expect_exit 1 "write fails mid-stream" -- timeout 60 "${MPIRUN[@]/self,vader/self,tcp}" -np 3 \
  sh -c '[ "$OMPI_COMM_WORLD_RANK" = 0 ] && ulimit -f 40; exec "$@"' sh \
  "$VIDREC" train "$WORK/d.vrd" -o "$WORK/keep.vrm" --factors 12 --iterations 2 -q
expect_contains "$WORK/err" "File too large" "the write error named"
expect_eq "$(grep -c 'vidrec: error' "$WORK/err")" "1" "write error printed once"
# kill -9 of one rank mid-training ends the job non-zero (within a minute).
cat >"$WORK/kill.sh" <<SH
#!/bin/sh
"$VIDREC" train "$WORK/d.vrd" -o "$WORK/keep.vrm" --factors 64 --iterations 100000 -q &
if [ "\$OMPI_COMM_WORLD_RANK" = 1 ]; then sleep 1; kill -9 \$!; fi
wait \$!
SH
timeout 60 "${MPIRUN[@]}" -np 2 sh "$WORK/kill.sh" >"$WORK/out" 2>"$WORK/err"
code=$?
if [ $code -ne 0 ] && [ $code -ne 124 ]; then pass; else fail "kill -9 of rank 1: exit $code"; fi
expect_eq "$(fac "$WORK/keep.vrm")" "$(fac "$WORK/one.vrm")" "the previous model intact after every failure"
expect_eq "$(ls "$WORK" | grep -c '\.tmp')" "0" "no temporary file left"

finish
