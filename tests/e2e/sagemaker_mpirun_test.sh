#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SageMaker training on one host with processes_per_host 2 under the real
# Open MPI mpirun: the whole leader path (prepare, mpirun, two `vidrec train`
# ranks, rank 0 writes the model). Needs distributed `vidrec train`; skipped
# (exit 77) with a message where mpirun is absent.
# Usage: sagemaker_mpirun_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun not found (Debian: openmpi-bin)"
  exit 77
fi
unset VIDREC_MPIRUN VIDREC_SSH VIDREC_SSHD
# Under the sanitizers: Open MPI keeps allocations until exit by design.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
SM=$WORK/sm
mkdir -p "$SM/input/config" "$SM/input/data/training" "$SM/input/data/validation"
cp "$ROOT/examples/interactions.csv" "$SM/input/data/training/a.csv"
{ head -1 "$ROOT/examples/interactions.csv"
  for uv in u001,v005 u002,v008 u003,v007 u004,v003; do echo "$uv,watch,1,USA,2025-02-01 10:00:00"; done; } \
  >"$SM/input/data/validation/v.csv"
printf '{"factors":"2","iterations":"15","regularization":"0.1","alpha":"2.0"}' >"$SM/input/config/hyperparameters.json"
expect_exit 0 "single process" -- "$VIDREC" sagemaker --root "$SM" train -q
"$VIDREC" recommend --model "$SM/model/model.vrm" --user u001 -k 3 >"$WORK/single.json"
rm -rf "$SM/model"

printf '{"factors":"2","iterations":"15","regularization":"0.1","alpha":"2.0","processes_per_host":"2"}' \
  >"$SM/input/config/hyperparameters.json"
printf '{"current_host":"algo-1","hosts":["algo-1"],"network_interface_name":"eth0"}' \
  >"$SM/input/config/resourceconfig.json"
expect_exit 0 "two ranks under mpirun" -- timeout 120 "$VIDREC" sagemaker --root "$SM" train
expect_contains "$WORK/err" "-np 2 -H localhost:2" "mpirun launched two local ranks"
# The leader evaluates the ranks' model once mpirun has finished.
expect_eq "$(grep -c '^validation:' "$WORK/out")" 5 "validation metrics after the job"
# One job, whose rank 0 reports; two single-process trainings (a binary
# without distributed train) would each print a summary.
expect_eq "$(grep -c '^train: .* users, ' "$WORK/err")" 1 "one train summary"
[ -s "$SM/model/model.vrm" ] && pass || fail "no model from the two ranks"
[ -e "$SM/output/failure" ] && fail "failure file: $(cat "$SM/output/failure")" || pass
expect_exit 0 "recommend on the two ranks' model" -- "$VIDREC" recommend --model "$SM/model/model.vrm" --user u001 -k 3
# Two ranks train the single process's model within float tolerance: the
# same top 3.
tr -d ' ' <"$WORK/out" | grep -o '"videoId":"[^"]*"' >"$WORK/ranks.ids"
tr -d ' ' <"$WORK/single.json" | grep -o '"videoId":"[^"]*"' >"$WORK/single.ids"
if cmp -s "$WORK/ranks.ids" "$WORK/single.ids"; then pass; else fail "top 3 differ: $(cat "$WORK/out") vs $(cat "$WORK/single.json")"; fi

finish
