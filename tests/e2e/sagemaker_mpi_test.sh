#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of SageMaker multi-instance training without Docker or a
# second machine: stand-ins for mpirun, ssh, sshd and Open MPI's orted
# ($VIDREC_MPIRUN, $VIDREC_SSH, $VIDREC_SSHD) record what the leader and the
# workers start. Every wait is bounded.
# Usage: sagemaker_mpi_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

SM=$WORK/sm
LOG=$WORK/log
BIN=$WORK/bin
mkdir -p "$SM/input/config" "$SM/input/data/training" "$SM/input/data/validation" "$LOG" "$BIN" "$WORK/tmp"
cp "$ROOT/examples/interactions.csv" "$SM/input/data/training/a.csv"
{ head -1 "$ROOT/examples/interactions.csv"
  for uv in u001,v005 u002,v008 u003,v007 u004,v003; do echo "$uv,watch,1,USA,2025-02-01 10:00:00"; done; } \
  >"$SM/input/data/validation/v.csv"
HP='"factors":"2","iterations":"15","regularization":"0.1","alpha":"2.0"'
hyper() { printf '{%s%s}' "$HP" "${1:+,$1}" >"$SM/input/config/hyperparameters.json"; }
hosts() { # hosts CURRENT HOST...
  local cur=$1 list
  shift
  list=$(printf '"%s",' "$@")
  printf '{"current_host":"%s","hosts":[%s],"network_interface_name":"eth0"}' "$cur" "${list%,}" \
    >"$SM/input/config/resourceconfig.json"
}

# mpirun: records its argv, then (FAKE_MPIRUN=run) runs the train command
# line as one process, or fails as a job whose worker died.
cat >"$BIN/mpirun" <<'EOF'
#!/usr/bin/env bash
printf '%s\n' "$@" >"$FAKE_LOG/mpirun.args"
case "$FAKE_MPIRUN" in
  run) while [ $# -gt 0 ] && [ "$1" != "$FAKE_VIDREC" ]; do shift; done; exec "$@" ;;
  fail) echo "noise"; echo "mpirun noticed that process rank 1 on node algo-2 exited on signal 9 (Killed)." >&2; exit 1 ;;
  usage) echo "vidrec: usage error: factors must be >= 1" >&2; exit 2 ;;
esac
EOF
cat >"$BIN/ssh" <<'EOF'
#!/usr/bin/env bash
args="$*"; host=${args% true}; host=${host##* }
echo "$host" >>"$FAKE_LOG/ssh.hosts"
case " $FAKE_SSH_DOWN " in
  *" $host "*) echo "ssh: connect to host $host port 22: Connection refused" >&2; exit 255 ;;
esac
[ -e "$FAKE_LOG/down.$host" ] && { echo "ssh: Could not resolve hostname $host" >&2; exit 255; }
exit 0
EOF
cat >"$BIN/sshd" <<'EOF'
#!/usr/bin/env bash
touch "$FAKE_LOG/sshd.started"
EOF
# A direct interpreter: the process keeps the script's name, as orted's has.
printf '#!/bin/sh\nsleep "$1"\n' >"$BIN/orted"
chmod +x "$BIN"/*
export FAKE_LOG=$LOG FAKE_VIDREC=$(realpath "$VIDREC") FAKE_SSH_DOWN="" FAKE_MPIRUN=run TMPDIR=$WORK/tmp
export VIDREC_MPIRUN=$BIN/mpirun VIDREC_SSH=$BIN/ssh VIDREC_SSHD=$BIN/sshd
train() { "$VIDREC" sagemaker --root "$SM" train -q; }
reset() { rm -rf "$SM/model" "$SM/output" "$LOG"/*; }

# The single-host path, the reference: no resourceconfig.json, no mpirun.
hyper
expect_exit 0 "single host" -- train
[ -e "$LOG/mpirun.args" ] && fail "mpirun started for one host and one process" || pass
grep '^validation:' "$WORK/out" >"$WORK/single.metrics"
expect_eq "$(wc -l <"$WORK/single.metrics")" 5 "validation metrics of the single host"
"$VIDREC" recommend --model "$SM/model/model.vrm" --user u001 -k 3 >"$WORK/single.json"
hosts algo-1 algo-1
reset
expect_exit 0 "one host in resourceconfig.json" -- train
[ -e "$LOG/mpirun.args" ] && fail "mpirun started for one host in resourceconfig.json" || pass

# Leader of two hosts: sshd, ssh to the worker, then mpirun over both.
hosts algo-1 algo-1 algo-2
reset
expect_exit 0 "leader" -- train
expect_eq "$(cat "$WORK/out")" "$(cat "$WORK/single.metrics")" "the leader evaluates the job's model"
expect_contains "$LOG/ssh.hosts" "algo-2" "leader waited for the worker's ssh"
[ -e "$LOG/sshd.started" ] && pass || fail "leader did not start sshd"
tr '\n' ' ' <"$LOG/mpirun.args" >"$WORK/args"
expect_contains "$WORK/args" "--allow-run-as-root -np 2 -H algo-1:1,algo-2:1 " "host list with slots"
expect_contains "$WORK/args" "--mca btl_tcp_if_include eth0 --mca oob_tcp_if_include eth0" "network interface"
expect_contains "$WORK/args" "-x PATH " "PATH exported"
expect_contains "$WORK/args" "$VIDREC train $WORK/tmp/vidrec-sagemaker-" "ranks train the shared dataset"
expect_contains "$WORK/args" " -o $SM/model/model.vrm --factors 2 --iterations 15 " "model path and options"
expect_exit 0 "leader's model" -- "$VIDREC" recommend --model "$SM/model/model.vrm" --user u001 -k 3
if cmp -s "$WORK/out" "$WORK/single.json"; then pass; else fail "mpirun's ranks trained another model: $(cat "$WORK/out")"; fi
[ -e "$SM/model/model.vrm.lock" ] && fail "lock file left in the model directory" || pass
[ -e "$SM/output/failure" ] && fail "failure file after success" || pass
expect_eq "$(ls "$WORK/tmp")" "" "the shared dataset is removed"

# processes_per_host: slots on every host, threads split.
hyper '"processes_per_host":"2","threads":"0"'
reset
expect_exit 0 "leader, 2 per host" -- train
expect_contains "$LOG/mpirun.args" "algo-1:2,algo-2:2" "two slots a host"

# A failed job: mpirun's status and stderr are the job's.
hyper
reset
FAKE_MPIRUN=fail expect_exit 1 "worker died" -- train
expect_eq "$(grep -c '^validation:' "$WORK/out")" 0 "no validation metrics after a failed job"
expect_contains "$SM/output/failure" "mpirun exited with status 1" "status in the failure reason"
expect_contains "$SM/output/failure" "rank 1 on node algo-2 exited on signal 9" "stderr in the failure reason"
expect_contains "$WORK/err" "rank 1 on node algo-2" "stderr passed through"
[ -e "$SM/model/model.vrm" ] && fail "model after a failed job" || pass
reset
FAKE_MPIRUN=usage expect_exit 2 "ranks' usage error" -- train

# A worker that never accepts ssh: named, after mpi_wait_seconds.
hosts algo-1 algo-1 algo-2 algo-3
hyper '"mpi_wait_seconds":"1"'
reset
FAKE_SSH_DOWN=algo-3 expect_exit 1 "worker down" -- train
expect_contains "$SM/output/failure" "worker algo-3 does not accept ssh after 1 s" "host named"
expect_contains "$SM/output/failure" "Connection refused" "ssh's complaint quoted"
[ -e "$LOG/mpirun.args" ] && fail "mpirun started without all workers" || pass

# expect_worker_exit SECONDS WHEN -- the background worker $WORKER exits 0
# within SECONDS (else it is killed).
expect_worker_exit() {
  local i
  for i in $(seq 1 $(($1 * 20))); do kill -0 "$WORKER" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$WORKER" 2>/dev/null; then
    kill "$WORKER"
    fail "worker still waiting $2"
  fi
  wait "$WORKER"
  expect_eq "$?" 0 "worker's exit status $2"
}

# A worker: prepares, starts sshd, waits for the job's orted to come and go,
# writes no model. (ssh to the leader fails here: it never answered, so its
# silence does not end the wait.)
hosts algo-2 algo-1 algo-2
hyper
reset
FAKE_SSH_DOWN=algo-1 train >"$WORK/wout" 2>"$WORK/werr" &
WORKER=$!
for i in $(seq 1 200); do [ -e "$LOG/sshd.started" ] && break; sleep 0.05; done
[ -e "$LOG/sshd.started" ] && pass || fail "worker did not start sshd"
"$BIN/orted" 1
expect_worker_exit 5 "after the job's orted ended"
expect_contains "$WORK/werr" "worker algo-2 done (the job's orted ended)" "worker says why it ended"
expect_eq "$(grep -c '^validation:' "$WORK/wout")" 0 "a worker does not evaluate"
[ -e "$SM/model/model.vrm" ] && fail "worker wrote a model" || pass
expect_eq "$(ls "$WORK/tmp")" "" "the worker's dataset is removed"

# A worker whose leader answered ssh and then stopped (its container ended
# before any job reached this host) stops waiting at the next probe (10 s).
reset
train >"$WORK/wout" 2>"$WORK/werr" &
WORKER=$!
for i in $(seq 1 200); do grep -q algo-1 "$LOG/ssh.hosts" 2>/dev/null && break; sleep 0.05; done
touch "$LOG/down.algo-1"
expect_worker_exit 15 "after its leader went"
expect_contains "$WORK/werr" "worker algo-2 done (the leader is gone)" "worker says the leader went"

# A worker no job reaches gives up after mpi_wait_seconds.
hyper '"mpi_wait_seconds":"1"'
reset
FAKE_SSH_DOWN=algo-1 expect_exit 1 "worker without a job" -- train
expect_contains "$SM/output/failure" "algo-2: no MPI job reached this host within 1 s" "worker timeout reason"

# Bad resourceconfig.json and processes_per_host: usage errors, before any data is read.
printf '{"current_host":"algo-9","hosts":["algo-1","algo-2"]}' >"$SM/input/config/resourceconfig.json"
reset
expect_exit 2 "current_host not in hosts" -- train
expect_contains "$SM/output/failure" "current_host algo-9 is not in hosts" "resourceconfig problem named"
hosts algo-1 algo-1 algo-2
hyper '"processes_per_host":"0"'
reset
expect_exit 2 "processes_per_host 0" -- train
expect_contains "$SM/output/failure" "processes_per_host must be between 1 and 1024, got 0" "rule named"

finish
