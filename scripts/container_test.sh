#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The SageMaker images built with podman and checked in real containers: the
# default one trains into a mounted /opt/ml and runs a two-container MPI job;
# the serving one (--target serve) serves (ping, invocations, fold-in, a model
# swap under load, the port variable, health check, SIGTERM, not root). Then
# the README's two commands in a bare Debian container on a fresh copy of
# this tree (tracked and untracked files, not ignored ones).
#   scripts/container_test.sh           everything (~25 min cold on 2 cores)
#   scripts/container_test.sh --image   the image's checks only (~8 min cold)
# Exit 0: every check passed; 1: one failed; 77: this machine cannot run
# containers (the reason on stderr). Images stay local; nothing is pushed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FRESH=1
case "${1:-}" in
  "") ;;
  --image) FRESH=0 ;;
  *) echo "usage: scripts/container_test.sh [--image]" >&2; exit 2 ;;
esac
. scripts/deps.sh
install_packages podman runc debootstrap curl python3

BASE=docker.io/library/debian:bookworm-slim
IMAGE=localhost/vidrec:container-test        # the default target
SERVE_IMAGE=localhost/vidrec-serve:container-test  # --target serve
# runc, not crun: crun refuses this kernel's hybrid cgroup layout.
PODMAN=(podman --runtime runc)
# podman's default limits ask for more than the machine allows; runc could
# not set nproc above the kernel's pid_max here.
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
nproc=$(ulimit -Hu); pid_max=$(cat /proc/sys/kernel/pid_max)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc=$pid_max; fi
LIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

WORK=$(mktemp -d /var/tmp/vidrec-ct.XXXXXX)
NET=vidrec-ct
remove_containers() {  # also what an interrupted run left
  "${PODMAN[@]}" rm -f -t 0 vidrec-ct-serve vidrec-ct-algo-1 vidrec-ct-algo-2 >/dev/null 2>&1 || true
  "${PODMAN[@]}" network rm -f "$NET" >/dev/null 2>&1 || true
}
remove_containers
trap 'remove_containers; rm -rf "$WORK"' EXIT

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok    $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL  $1" >&2; }
check() { # DESCRIPTION COMMAND...: passes when COMMAND succeeds; its output shown if not
  local what=$1; shift
  if "$@" >"$WORK/check.log" 2>&1; then pass "$what"; else fail "$what"; tail -n 20 "$WORK/check.log" >&2; fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
took() { local s=$(($(now_ms) - $1)); printf '%dm%02ds' $((s / 60000)) $((s / 1000 % 60)); }

# The mirror apt uses here, for debootstrap: the first URI serving bookworm.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { uris = ""; suites = ""
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
             if ($i ~ /^Suites:/) { suites = " " $i " " } }
           if (uris != "" && suites ~ /[ \t]bookworm[ \t]/) { split(uris, u, /[ \t]+/); print u[1]; exit } }' "$f"
  done
  [ -e /etc/apt/sources.list ] &&
    awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++; if ($i ~ /^\[/ || $i ~ /\]$/) i++
                       if ($(i + 1) == "bookworm") { print $i; exit } }' /etc/apt/sources.list
  return 0
}

# A local stand-in for Docker Hub's debian:bookworm-slim: debootstrap's
# minbase, trimmed as Debian's own slim images are (no docs, man pages or
# locales; apt keeps no caches).
make_base() {
  local mirror rootfs
  mirror=$(apt_mirror | head -1)
  [ -n "$mirror" ] || { echo "no bookworm mirror in /etc/apt: cannot debootstrap a base image" >&2; exit 77; }
  rootfs=$WORK/rootfs
  echo "== base image: debootstrap --variant=minbase bookworm from $mirror" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; echo "debootstrap failed" >&2; exit 1; }
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda}/* "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -f "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/var/cache/debconf/*-old
  tar -C "$rootfs" -c . | "${PODMAN[@]}" import --change 'CMD ["bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
}

T0=$(now_ms)
cannot_run() { echo "containers cannot run on this machine: $(tail -1 "$WORK/probe.err")" >&2; exit 77; }
"${PODMAN[@]}" info >/dev/null 2>"$WORK/probe.err" || cannot_run
if ! "${PODMAN[@]}" image exists "$BASE"; then make_base; fi
"${PODMAN[@]}" run --rm "${LIMITS[@]}" "$BASE" true 2>"$WORK/probe.err" || cannot_run

echo "== podman build" >&2
t=$(now_ms)
# The default target first; the serving one is then its cached first stages.
for target in "$IMAGE" "$SERVE_IMAGE"; do
  args=(-t "$target"); [ "$target" = "$SERVE_IMAGE" ] && args+=(--target serve)
  if ! "${PODMAN[@]}" build --pull=never --format docker "${LIMITS[@]}" "${args[@]}" . >"$WORK/build.log" 2>&1; then
    tail -30 "$WORK/build.log" >&2
    fail "podman build ${args[*]}"
    echo "container_test: $PASSED passed, $FAILED failed (the image did not build)"
    exit 1
  fi
done
BUILD_TIME=$(took "$t")
pass "podman build --pull=never, both targets ($BUILD_TIME)"
mb() { echo $(("$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$1")" / 1000000)); }
size_mb=$(mb "$IMAGE") serve_mb=$(mb "$SERVE_IMAGE") base_mb=$(mb "$BASE")
check "serving image ${serve_mb} MB <= 150 MB (base ${base_mb} MB; default image ${size_mb} MB)" test "$serve_mb" -le 150
RUN=("${PODMAN[@]}" run --rm "${LIMITS[@]}" --no-healthcheck)
run() { "${RUN[@]}" "$@"; }
fails() { ! "$@"; }
ldd_ok() { local out; out=$(run --entrypoint ldd "$1" "$2" 2>&1) && ! grep -q 'not found' <<<"$out"; }
check "serving image: ldd bin/vidrec finds every library" ldd_ok "$SERVE_IMAGE" /usr/local/bin/vidrec
check "default image: ldd the MPI plugin finds every library" ldd_ok "$IMAGE" /usr/local/lib/vidrec/libvidrec_mpi.so

# --- train: hyperparameters (string values), a data channel, /opt/ml/model
sm_root() { # DIR HYPERPARAMETERS_JSON: a SageMaker root with the examples as training data
  mkdir -p "$1/input/config" "$1/input/data/training" "$1/model" "$1/output"
  printf '%s' "$2" >"$1/input/config/hyperparameters.json"
  cp examples/interactions.csv "$1/input/data/training/"
  chmod -R a+rwX "$1"
}
SM=$WORK/sm
sm_root "$SM" '{"factors":"8","iterations":"6","regularization":"0.05","min_user_events":"1"}'
check "train: exit 0" run -v "$SM:/opt/ml" "$IMAGE" train
check "train: /opt/ml/model/model.vrm written" test -s "$SM/model/model.vrm"
check "train: prepare's summary in /opt/ml/output/data" test -s "$SM/output/data/prepare_summary.json"
check "train: no failure file" test ! -e "$SM/output/failure"
check "the model reads back (inspect in the image)" run -v "$SM:/opt/ml" "$IMAGE" inspect /opt/ml/model/model.vrm
ONE=$WORK/one  # the model kept for the multi-instance check (the swap below replaces $SM's)
mkdir -p "$ONE/model" && cp "$SM/model/model.vrm" "$ONE/model/"
BAD=$WORK/bad
sm_root "$BAD" '{"factors":"many"}'
check "bad hyperparameter: non-zero exit" fails run -v "$BAD:/opt/ml" "$IMAGE" train
check "bad hyperparameter: /opt/ml/output/failure names it" grep -q "factors" "$BAD/output/failure"
SM2=$WORK/sm2  # another model for the swap
sm_root "$SM2" '{"factors":"4","iterations":"3","regularization":"1","seed":"7"}'
run -v "$SM2:/opt/ml" "$IMAGE" train 2>/dev/null || true
check "second model trained" test -s "$SM2/model/model.vrm"
answer() { run -v "$1:/opt/ml" "$IMAGE" recommend --model /opt/ml/model/model.vrm --user u001 -k 3; }
answer "$SM" >"$WORK/one.json"
answer "$SM2" >"$WORK/two.json"
check "the two models answer differently" fails cmp "$WORK/one.json" "$WORK/two.json"
SMS=$WORK/sms
sm_root "$SMS" '{"factors":"8","iterations":"6","regularization":"0.05","min_user_events":"1"}'
check "serving image: train on one instance" run -v "$SMS:/opt/ml" "$SERVE_IMAGE" train
factors() { run -v "$1:/opt/ml" "$IMAGE" inspect --json /opt/ml/model/model.vrm | grep factors_checksum; }
check "serving image: the default image's factors, bit for bit" test "$(factors "$SMS")" = "$(factors "$ONE")"

# --- serve
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# podman logs that it cannot schedule health checks without systemd; they
# are run by hand below.
"${PODMAN[@]}" run -d --name vidrec-ct-serve "${LIMITS[@]}" -e SAGEMAKER_BIND_TO_PORT=8123 \
  -p "127.0.0.1:$PORT:8123" -v "$SM/model:/opt/ml/model" "$SERVE_IMAGE" serve >/dev/null 2>"$WORK/podman.err"
t=$(now_ms)
code=000
for _ in $(seq 200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ping" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
READY_MS=$(($(now_ms) - t))
check "serve: /ping 200 (${READY_MS} ms after start)" test "$code" = 200
invoke() { curl -s -H 'Content-Type: application/json' --data-binary '{"user_id":"u001","k":3}' \
  "http://127.0.0.1:$PORT/invocations"; }
invoke >"$WORK/served.json"
check "serve: /invocations answers as recommend does" cmp -s "$WORK/served.json" "$WORK/one.json"
check "serve: the answer's shape" grep -Eq \
  '^\{"userId":"u001","recommendations":\[\{"videoId":"[^"]+","score":[-0-9.e]+[^]]*\}(,\{[^]]*\}){2}\]' "$WORK/served.json"
check "serve: SAGEMAKER_BIND_TO_PORT honoured (8123 answers)" "${PODMAN[@]}" exec vidrec-ct-serve vidrec sagemaker ping
check "serve: SAGEMAKER_BIND_TO_PORT honoured (8080 does not)" \
  fails "${PODMAN[@]}" exec -e SAGEMAKER_BIND_TO_PORT=8080 vidrec-ct-serve vidrec sagemaker ping
check "serve: HEALTHCHECK healthy" "${PODMAN[@]}" healthcheck run vidrec-ct-serve
# Fold-in solves on the reference LAPACK here; the default image's OpenBLAS
# must rank the same videos.
curl -s -H 'Content-Type: application/json' --data-binary \
  '{"user_id":"new","k":3,"history":[{"videoId":"v001","value":3},{"videoId":"v004","value":1}]}' \
  "http://127.0.0.1:$PORT/invocations" >"$WORK/fold.json"
printf 'v001,3\nv004,1\n' | "${RUN[@]}" -i -v "$SM:/opt/ml" "$IMAGE" recommend --model /opt/ml/model/model.vrm \
  --history - --user new -k 3 >"$WORK/fold_cli.json"
videos() { grep -o '"videoId":"[^"]*"' "$1"; }
check "serve: fold-in of a history, the videos OpenBLAS ranks" \
  test -n "$(videos "$WORK/fold.json")" -a "$(videos "$WORK/fold.json")" = "$(videos "$WORK/fold_cli.json")"
uid=$("${PODMAN[@]}" exec vidrec-ct-serve awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/1/status)
check "serve: the server is not root (uids $uid)" awk '{ for (i = 1; i <= NF; i++) if ($i == 0) exit 1 }' <<<"$uid"
# A model swap under requests: none fails, the new model is served.
( while [ ! -e "$WORK/stop" ]; do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
      --data-binary '{"user_id":"u001","k":3}' "http://127.0.0.1:$PORT/invocations"
  done >"$WORK/codes" ) &
LOAD=$!
sleep 1
cp "$SM2/model/model.vrm" "$SM/model/.model.vrm.new" && mv "$SM/model/.model.vrm.new" "$SM/model/model.vrm"
for _ in $(seq 100); do invoke >"$WORK/served.json"; cmp -s "$WORK/served.json" "$WORK/two.json" && break; sleep 0.1; done
sleep 1
touch "$WORK/stop"; wait "$LOAD"
n=$(wc -l <"$WORK/codes"); bad=$(grep -vc '^200$' "$WORK/codes" || true)
check "serve: model swap under $n requests, $bad not 200" test "$n" -gt 0 -a "$bad" -eq 0
check "serve: the new model served after the swap" cmp -s "$WORK/served.json" "$WORK/two.json"
t=$(now_ms)
"${PODMAN[@]}" kill --signal TERM vidrec-ct-serve >/dev/null
status=$("${PODMAN[@]}" wait vidrec-ct-serve)
STOP_MS=$(($(now_ms) - t))
check "serve: SIGTERM stops it cleanly (exit $status) within a second (${STOP_MS} ms)" \
  test "$status" = 0 -a "$STOP_MS" -lt 1000
"${PODMAN[@]}" logs vidrec-ct-serve >"$WORK/serve.log" 2>&1 || true
"${PODMAN[@]}" rm -f vidrec-ct-serve >/dev/null

# --- multi-instance training: two containers, one MPI job over ssh
MI=$WORK/mi
"${PODMAN[@]}" network create --subnet 10.231.7.0/24 "$NET" >/dev/null
for i in 1 2; do
  sm_root "$MI/algo-$i" '{"factors":"8","iterations":"6","regularization":"0.05","min_user_events":"1"}'
  printf '{"current_host":"algo-%s","hosts":["algo-1","algo-2"],"network_interface_name":"eth0"}' "$i" \
    >"$MI/algo-$i/input/config/resourceconfig.json"
done
hosts=(--add-host algo-1:10.231.7.11 --add-host algo-2:10.231.7.12)
for i in 2 1; do  # the worker first, as SageMaker starts them in any order
  "${PODMAN[@]}" run -d --name "vidrec-ct-algo-$i" --hostname "algo-$i" --network "$NET" --ip "10.231.7.1$i" \
    "${hosts[@]}" "${LIMITS[@]}" --no-healthcheck -v "$MI/algo-$i:/opt/ml" "$IMAGE" train >/dev/null
done
s1=$(timeout 300 "${PODMAN[@]}" wait vidrec-ct-algo-1 || echo timeout)
s2=$(timeout 60 "${PODMAN[@]}" wait vidrec-ct-algo-2 || echo timeout)
"${PODMAN[@]}" logs vidrec-ct-algo-1 >"$WORK/algo-1.log" 2>&1 || true
"${PODMAN[@]}" logs vidrec-ct-algo-2 >"$WORK/algo-2.log" 2>&1 || true
check "multi-instance: leader exit $s1, worker exit $s2" test "$s1" = 0 -a "$s2" = 0
[ "$s1" = 0 ] && [ "$s2" = 0 ] || tail -n 5 "$WORK/algo-1.log" "$WORK/algo-2.log" >&2
check "multi-instance: the leader ran mpirun over both hosts" grep -q "mpirun.*-H algo-1:1,algo-2:1" "$WORK/algo-1.log"
check "multi-instance: the worker wrote no model" test ! -e "$MI/algo-2/model/model.vrm"
check "multi-instance: the model's factors equal the single container's, bit for bit" \
  test "$(factors "$MI/algo-1")" = "$(factors "$ONE")"
"${PODMAN[@]}" rm -f vidrec-ct-algo-1 vidrec-ct-algo-2 >/dev/null

# --- the README's two commands on a bare Debian, a fresh copy of this tree
FRESH_TIME=skipped
if [ "$FRESH" = 1 ]; then
  mkdir -p "$WORK/src"
  git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -c 2>/dev/null | tar -x -C "$WORK/src"
  echo "== scripts/demo.sh, then scripts/test.sh, in a bare $BASE" >&2
  t=$(now_ms)
  set +e
  "${PODMAN[@]}" run --rm "${LIMITS[@]}" --shm-size 1g -v "$WORK/src:/src" -w /src "$BASE" \
    bash -c 'scripts/demo.sh && scripts/test.sh' >"$WORK/fresh.log" 2>&1
  fresh_status=$?
  set -e
  FRESH_TIME=$(took "$t")
  check "bare Debian: demo.sh then test.sh exit 0 ($FRESH_TIME)" test "$fresh_status" = 0
  [ "$fresh_status" = 0 ] || tail -n 40 "$WORK/fresh.log" >&2
  check "bare Debian: the demo printed recommendations" grep -q '"recommendations"' "$WORK/fresh.log"
  summary=$(grep -E 'tests passed, [0-9]+ tests failed' "$WORK/fresh.log" || true)
  check "bare Debian: $summary" grep -q '100% tests passed' <<<"$summary"
fi

echo "container_test: $PASSED passed, $FAILED failed; serving image ${serve_mb} MB, default ${size_mb} MB," \
  "build $BUILD_TIME, serve ready in" \
  "${READY_MS} ms, bare-Debian demo+test $FRESH_TIME, total $(took "$T0")"
[ "$FAILED" -eq 0 ]
