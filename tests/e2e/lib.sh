# SPDX-License-Identifier: MIT
# Shared helpers for the end-to-end tests: run the real binary, check exit
# codes and output, count failures and print the plain closing line.
set -u
PASSED=0
FAILED=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# expect_exit CODE DESCRIPTION -- command...   (stdout/stderr kept in $WORK/out, $WORK/err)
expect_exit() {
  local want=$1 what=$2
  shift 3
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass; else fail "$what: exit $got, expected $want; stderr: $(head -c 400 "$WORK/err")"; fi
}

# expect_contains FILE TEXT DESCRIPTION
expect_contains() {
  if grep -qF -- "$2" "$1"; then pass; else fail "$3: '$2' not in $(basename "$1"): $(head -c 400 "$1")"; fi
}

expect_eq() {
  if [ "$1" = "$2" ]; then pass; else fail "$3: got '$1', expected '$2'"; fi
}

# taste_log USERS EVENTS SEED: a raw log of USERS users (user000, ...) in 4
# taste groups, each with EVENTS events mostly among its group's 30 videos (a
# tenth at random among all 120), one a minute, so a time split is well defined.
taste_log() {
  awk -v users="$1" -v events="$2" -v seed="$3" 'BEGIN { srand(seed);
    print "userId,videoId,interactionType,interactionValue,location,timestamp";
    t = 1700000000;
    for (u = 0; u < users; u++) for (i = 0; i < events; i++) {
      v = rand() < 0.9 ? (u % 4) * 30 + int(rand() * rand() * 30) : int(rand() * 120);
      printf "user%03d,vid%03d,watch,%d,X,%d\n", u, v, 1 + int(rand() * 3), t + u * 100 + i * 60 } }'
}

finish() {
  echo
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
