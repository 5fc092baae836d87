#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmarks (not tests) on synthetic logs from ../shared/tools/synth.py:
#   prepare    throughput of `vidrec prepare` on ~10M rows (~450 MB), peak memory, --threads 1
#              and --threads THREADS interleaved (medians, speed-up, cmp of their outputs);
#              with BENCH_PANDAS=1 also the seed's pandas read_csv + groupby
#   train      ALS seconds per iteration at 64 and 128 factors (bench/als_bench)
#   recommend  in-process single-user latency, --all style batch throughput
#              (bench/recommend_bench), and end-to-end `vidrec recommend` calls
#   ann        the ANN index vs exact scoring (bench/ann_bench): build time and bytes,
#              recall@10 and us/query at several ef, on synthetic models of ANN_VIDEOS videos
#   mpi        `mpirun -np 2 vidrec train --threads 1` against one process with
#              --threads 2 on the same data: seconds per iteration, peak RSS per rank
# These machines are noisy (2 shared cores): every figure is a median of RUNS
# runs, and the data sizes, threads and commit are printed with it.
#
#   start      process start to exit: `vidrec recommend` (1M users) and
#              `vidrec --version` next to a minimal C++ program and /bin/true
#   serve      scripts/bench_serve.sh with its nginx reference (REFERENCE=1; PREVIOUS=BINARY
#              adds another vidrec, ROUNDS=3 interleaved rounds)
# Usage: scripts/bench.sh [prepare|train|recommend|ann|mpi|start|serve|all]
#   SHARED=../shared  BENCH_DIR=bench-data  RUNS=5  THREADS=2  PREVIOUS= (start)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps python3-numpy time
configure_build build Release all >/dev/null

WHAT=${1:-all}
SHARED=${SHARED:-../shared}
DIR=${BENCH_DIR:-bench-data}
RUNS=${RUNS:-5}
THREADS=${THREADS:-2}
VIDREC=build/apps/vidrec
SYNTH=$SHARED/tools/synth.py
[ -f "$SYNTH" ] || { echo "bench.sh: no $SYNTH (set SHARED)" >&2; exit 1; }
mkdir -p "$DIR"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, threads $THREADS, runs $RUNS"

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# synth NAME ARGS...: generates DIR/NAME.csv once.
synth() {
  local name=$1
  shift
  [ -f "$DIR/$name.csv" ] || /usr/bin/python3 "$SYNTH" "$@" --seed 42 -o "$DIR/$name.csv"
}
dataset() { [ -f "$DIR/$1.vrd" ] || "$VIDREC" prepare "$DIR/$1.csv" -o "$DIR/$1.vrd" -q; }

bench_prepare() {
  synth p10m --users 100000 --videos 20000 --events 10000000
  local bytes t secs1=() secs2=() rss1=() rss2=()
  bytes=$(stat -L -c %s "$DIR/p10m.csv")
  cat "$DIR/p10m.csv" >/dev/null  # page cache warm, as for the other runs
  # The machine's state goes with the figure: in a slow spell the same binary's median moves ~30%.
  echo "before prepare: $(build/bench/cpu_jitter --seconds 6 | tail -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
  # --threads 1 (the reference) and --threads $THREADS interleaved, so a slow spell hits both.
  for _ in $(seq "$RUNS"); do
    for t in 1 "$THREADS"; do
      /usr/bin/time -f "%e %M" -o "$DIR/time.txt" "$VIDREC" prepare "$DIR/p10m.csv" -o "$DIR/p10m.t$t.vrd" \
        --rejects "$DIR/p10m.t$t.rej" --summary-json "$DIR/p10m.t$t.json" --threads "$t" -q
      read -r s m <"$DIR/time.txt"
      if [ "$t" = 1 ]; then secs1+=("$s") rss1+=("$m"); else secs2+=("$s") rss2+=("$m"); fi
    done
  done
  local same=identical
  for ext in vrd rej json; do cmp -s "$DIR/p10m.t1.$ext" "$DIR/p10m.t$THREADS.$ext" || same="DIFFERENT ($ext)"; done
  mv "$DIR/p10m.t1.vrd" "$DIR/p10m.vrd"
  local s1 s2 m1 m2
  s1=$(printf '%s\n' "${secs1[@]}" | median)
  s2=$(printf '%s\n' "${secs2[@]}" | median)
  m1=$(printf '%s\n' "${rss1[@]}" | median)
  m2=$(printf '%s\n' "${rss2[@]}" | median)
  mbs() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
  echo "prepare: $(numfmt --to=si "$bytes")B, $("$VIDREC" inspect --json "$DIR/p10m.vrd" | grep -m1 -E '"pairs"' | tr -d ' ,')," \
    "--threads 1: median $s1 s = $(mbs "$s1") MB/s (runs ${secs1[*]}), peak RSS $((m1 / 1024)) MiB"
  echo "prepare --threads $THREADS: median $s2 s = $(mbs "$s2") MB/s (runs ${secs2[*]}), peak RSS $((m2 / 1024)) MiB," \
    "$(awk -v a="$s1" -v b="$s2" 'BEGIN { printf "%.2f", a / b }')x --threads 1; outputs $same; load after $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "${BENCH_PANDAS:-0}" = 1 ]; then
    install_deps python3-pandas
    /usr/bin/time -f "%e %M" -o "$DIR/time.txt" /usr/bin/python3 - "$DIR/p10m.csv" <<'PY'
import sys, pandas as pd
df = pd.read_csv(sys.argv[1])
agg = df.groupby(["userId", "videoId"]).agg(weight=("interactionValue", "sum"), events=("interactionValue", "size"),
                                          first=("timestamp", "min"), last=("timestamp", "max"))
print(len(agg), file=sys.stderr)
PY
    read -r s m <"$DIR/time.txt"
    echo "pandas read_csv + groupby (the seed's approach): $s s = $(awk -v b="$bytes" -v s="$s" 'BEGIN { printf "%.0f", b / s / 1e6 }') MB/s, peak RSS $((m / 1024)) MiB"
  fi
}

bench_train() {
  synth t500k --users 500000 --videos 100000 --events 10000000
  dataset t500k
  echo "train data: $("$VIDREC" inspect --json "$DIR/t500k.vrd" | grep -E '"(users|videos|pairs)"' | tr -d ' \n'), file $(stat -c %s "$DIR/t500k.vrd") bytes"
  for f in 64 128; do
    build/bench/als_bench "$DIR/t500k.vrd" --factors "$f" --threads "$THREADS" --iterations 15 | tail -1
  done
}

bench_recommend() {
  synth r1m --users 1000000 --videos 100000 --events 10000000
  dataset r1m
  [ -f "$DIR/r1m.vrm" ] || "$VIDREC" train "$DIR/r1m.vrd" -o "$DIR/r1m.vrm" --factors 64 --iterations 3 -q
  build/bench/recommend_bench "$DIR/r1m.vrm" -k 10 --threads "$THREADS" --samples 2000 --batch 200000
  # End to end: process start to exit, as a shell loop calls it (page cache warm).
  local users=() us=()
  mapfile -t users < <("$VIDREC" recommend --model "$DIR/r1m.vrm" --all -k 1 --format csv -q | awk -F, 'NR > 1 && NR % 4001 == 0 { print $1 }' | head -200)
  "$VIDREC" recommend --model "$DIR/r1m.vrm" --user "${users[0]}" >/dev/null
  for u in "${users[@]}"; do
    local t0 t1
    t0=$(date +%s%N)
    "$VIDREC" recommend --model "$DIR/r1m.vrm" --user "$u" -k 10 --threads "$THREADS" >/dev/null
    t1=$(date +%s%N)
    us+=($(((t1 - t0) / 1000)))
  done
  echo "vidrec recommend end to end: median $(printf '%s\n' "${us[@]}" | median) us over ${#us[@]} calls"
}

# Start-up, side by side in one interleaved run (build/bench/start_bench):
# one `vidrec recommend` call on the issue's 1M-user x 100k-video x 64-factor
# model, `vidrec --version`, a minimal C++ program (int main(){}, dynamically
# linked to libstdc++, same compiler) and /bin/true; with PREVIOUS=BINARY, the
# same two calls of that (e.g. the previous commit's) binary too.
bench_start() {
  synth r1m20 --users 1000000 --videos 100000 --events 20000000
  dataset r1m20
  [ -f "$DIR/r1m20.vrm" ] || "$VIDREC" train "$DIR/r1m20.vrd" -o "$DIR/r1m20.vrm" --factors 64 --iterations 2 -q
  [ -x "$DIR/minimal" ] || { echo 'int main() {}' | c++ -O2 -x c++ - -o "$DIR/minimal"; }
  local user
  user=$("$VIDREC" recommend --model "$DIR/r1m20.vrm" --all -k 1 --format csv -q | sed -n 5000p | cut -d, -f1)
  echo "start: model $(stat -L -c %s "$DIR/r1m20.vrm" | numfmt --to=iec)B, user $user, $(ldd "$VIDREC" | wc -l) shared objects (ldd)"
  local previous=()
  [ -z "${PREVIOUS:-}" ] || previous=(";;" "$PREVIOUS" recommend --model "$DIR/r1m20.vrm" --user "$user" -k 10
    ";;" "$PREVIOUS" --version)
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  build/bench/start_bench --runs 31 -- "$VIDREC" recommend --model "$DIR/r1m20.vrm" --user "$user" -k 10 \
    ";;" "$VIDREC" --version ";;" "$DIR/minimal" ";;" /bin/true "${previous[@]}"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Median of a model's per-iteration seconds (its metadata), first iteration left out.
iteration_median() {
  "$VIDREC" inspect --json "$1" | tr -d ' \n' | grep -o '"iteration_seconds":\[[^]]*' | cut -d[ -f2 | tr , '\n' |
    tail -n +2 | median
}

bench_mpi() {
  command -v mpirun >/dev/null || { echo "bench mpi: no mpirun (apt-get install openmpi-bin)"; return 0; }
  synth t500k --users 500000 --videos 100000 --events 10000000
  dataset t500k
  echo "mpi data:$("$VIDREC" inspect "$DIR/t500k.vrd" | sed -n 2p | cut -d, -f1-3), 64 factors, 6 iterations"
  local one=() two=() rss1=() rss0=() rssr1=() opts=(--factors 64 --iterations 6 -q)
  for _ in $(seq "$RUNS"); do  # alternated, so a slow spell hits both
    /usr/bin/time -f "%M" -o "$DIR/rss.single" "$VIDREC" train "$DIR/t500k.vrd" -o "$DIR/mpi1.vrm" --threads 2 "${opts[@]}"
    one+=("$(iteration_median "$DIR/mpi1.vrm")")
    rss1+=("$(cat "$DIR/rss.single")")
    mpirun --allow-run-as-root --oversubscribe --mca plm_rsh_agent false --mca btl self,vader -np 2 \
      sh -c '/usr/bin/time -f "%M" -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$DIR/rss.rank" \
      "$VIDREC" train "$DIR/t500k.vrd" -o "$DIR/mpi2.vrm" --threads 1 "${opts[@]}"
    two+=("$(iteration_median "$DIR/mpi2.vrm")")
    rss0+=("$(cat "$DIR/rss.rank.0")")
    rssr1+=("$(cat "$DIR/rss.rank.1")")
  done
  local a b
  a=$(printf '%s\n' "${one[@]}" | median)
  b=$(printf '%s\n' "${two[@]}" | median)
  echo "1 process x 2 threads: median $a s/iteration, peak RSS $(($(printf '%s\n' "${rss1[@]}" | median) / 1024)) MiB"
  echo "2 ranks x 1 thread:    median $b s/iteration, peak RSS rank 0 $(($(printf '%s\n' "${rss0[@]}" | median) / 1024)) MiB," \
    "rank 1 $(($(printf '%s\n' "${rssr1[@]}" | median) / 1024)) MiB"
  echo "ratio 2 ranks / 1 process: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
  if cmp -s <("$VIDREC" inspect --json "$DIR/mpi1.vrm" | grep factors_checksum) \
    <("$VIDREC" inspect --json "$DIR/mpi2.vrm" | grep factors_checksum); then
    echo "factors: identical"
  else
    echo "factors: DIFFER"
  fi
}

# The ANN index at each size of ANN_VIDEOS (default 100000; 1000000 needs ~2 GB and a long build).
bench_ann() {
  local n
  for n in ${ANN_VIDEOS:-100000}; do
    mkdir -p "$DIR/ann"
    build/bench/ann_bench "$DIR/ann" --videos "$n" --factors 64 --users 10000 --queries 2000 --threads "$THREADS" 2>&1 |
      grep -v '^index: [0-9]'
  done
}

case $WHAT in
  prepare) bench_prepare ;;
  train) bench_train ;;
  recommend) bench_recommend ;;
  ann) bench_ann ;;
  mpi) bench_mpi ;;
  start) bench_start ;;
  # serve next to nginx answering a constant string, loaded the same way.
  serve) REFERENCE=1 scripts/bench_serve.sh build "$DIR/serve" ;;
  all) bench_prepare; bench_train; bench_recommend; bench_mpi; bench_start ;;
  *) echo "usage: scripts/bench.sh [prepare|train|recommend|ann|mpi|start|serve|all]" >&2; exit 2 ;;
esac
