#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs one, or all, for
# a number of seconds from the committed seed corpus. A crash leaves its input
# in build-fuzz/ (crash-*) and fails the script; turn it into a regression test.
#   scripts/fuzz.sh TARGET|all SECONDS      TARGET: csv dataset model http npy
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps clang-14 libclang-rt-14-dev
TARGET=${1:?usage: scripts/fuzz.sh TARGET|all SECONDS}
SECONDS_EACH=${2:?usage: scripts/fuzz.sh TARGET|all SECONDS}
targets=$TARGET
[ "$TARGET" = all ] && targets="csv dataset model http npy"
for t in $targets; do
  [ -d "tests/fuzz/corpus/$t" ] || { echo "fuzz.sh: no target '$t'" >&2; exit 2; }
done
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DVIDREC_FUZZ=ON >/dev/null
for t in $targets; do
  cmake --build build-fuzz -j "$(nproc)" --target "fuzz_$t"
  work=build-fuzz/corpus/$t
  mkdir -p "$work"
  echo "== fuzz_$t for $SECONDS_EACH s"
  (cd build-fuzz && ASAN_OPTIONS=detect_leaks=1 "tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" \
    -print_final_stats=1 -max_len=65536 -timeout=10 -rss_limit_mb=4096 "corpus/$t" "../tests/fuzz/corpus/$t" 2>&1 |
    grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" || true)
  # libFuzzer exits non-zero on a crash; pipefail is masked by the filter, so check for artifacts
  # (a glob, not ls: under pipefail ls's status for the patterns that match nothing hid a crash).
  found=""
  for f in build-fuzz/crash-* build-fuzz/leak-* build-fuzz/timeout-*; do
    [ -e "$f" ] && found+="$f"$'\n'
  done
  if [ -n "$found" ]; then
    echo "fuzz.sh: fuzz_$t found a failing input:" >&2
    printf '%s' "$found" >&2
    exit 1
  fi
done
