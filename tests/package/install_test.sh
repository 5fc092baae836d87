#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install_test.sh BUILD_DIR SOURCE_DIR: what `cmake --install` and `cpack -G DEB`
# ship, checked from outside the build: man pages, bash completion, headers,
# the CMake package (examples/cmake-consumer builds against it and answers as
# the binary does), and the .deb's Depends, contents, and a binary that runs
# from the unpacked package. Everything is written under a temp directory.
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
source "$SRC/tests/e2e/lib.sh"

P=$WORK/prefix
if ! cmake --install "$BUILD" --prefix "$P" >"$WORK/install.log" 2>&1; then
  cat "$WORK/install.log" >&2
  echo "FAIL: cmake --install" >&2
  exit 1
fi

# The binary and its MPI plugin where comm.cpp looks for it (../lib/vidrec).
expect_exit 0 "installed vidrec --version" -- "$P/bin/vidrec" --version
expect_contains "$WORK/out" "vidrec " "installed vidrec --version"
if [ -f "$BUILD/apps/libvidrec_mpi.so" ]; then
  [ -f "$P/lib/vidrec/libvidrec_mpi.so" ] && pass || fail "MPI plugin not in lib/vidrec"
fi

# A man page per subcommand (the list is the binary's own), each a real page.
if grep -q '^VIDREC_MAN_PAGES:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  subs=$(sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z0-9_-]*\) .*/\1/p' <("$P/bin/vidrec" --help))
  [ "$(wc -w <<<"$subs")" -ge 8 ] && pass || fail "vidrec --help lists too few subcommands: $subs"
  for page in vidrec $(printf 'vidrec-%s\n' $subs) vidrec-sagemaker-serve; do
    f=$P/share/man/man1/$page.1
    if grep -q "^\.TH ${page^^} \"1\"" "$f" 2>/dev/null; then pass; else fail "man page $page.1 missing or without .TH"; fi
  done
  grep -qF -- '\-\-factors' "$P/share/man/man1/vidrec-train.1" && pass || fail "vidrec-train.1 lacks --factors"
  if command -v man >/dev/null; then
    MANWIDTH=80 man -l "$P/share/man/man1/vidrec-train.1" 2>/dev/null | grep -q 'vidrec-train - Dataset file' &&
      pass || fail "man -l vidrec-train.1 does not render its NAME"
  fi
else
  echo "(no man pages in this build: help2man was not found)"
fi

# Bash completion, driven as bash would drive it, against the installed binary.
comp=$P/share/bash-completion/completions/vidrec
complete_words() {
  (source "$comp" && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && _vidrec && printf '%s\n' "${COMPREPLY[@]}")
}
expect_eq "$(complete_words "$P/bin/vidrec" tra)" "train" "completion of a subcommand"
expect_eq "$(complete_words "$P/bin/vidrec" train --fact)" "--factors" "completion of a train option"
expect_eq "$(complete_words "$P/bin/vidrec" sagemaker se)" "serve" "completion of a nested subcommand"

# Headers keep their vidrec/... paths; the CMake package is there.
for f in include/vidrec/recommend/recommend.hpp include/vidrec/model/model.hpp include/vidrec/base/cpus.hpp \
  lib/cmake/vidrec/vidrec-config.cmake lib/cmake/vidrec/vidrec-targets.cmake lib/libvidrec_core.a \
  share/doc/vidrec/copyright; do
  [ -f "$P/$f" ] && pass || fail "$f not installed"
done

# An out-of-tree project: find_package(vidrec), link vidrec::core, and answer
# as `vidrec recommend` does on a model the installed binary trained.
C=$WORK/consumer
if cmake -S "$SRC/examples/cmake-consumer" -B "$C" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release \
  >"$WORK/consumer.log" 2>&1 && cmake --build "$C" >>"$WORK/consumer.log" 2>&1; then
  pass
  "$P/bin/vidrec" prepare "$SRC/examples/interactions.csv" -o "$WORK/d.vrd" -q 2>"$WORK/err" &&
    "$P/bin/vidrec" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factors 4 --iterations 3 -q 2>>"$WORK/err" ||
    fail "prepare/train with the installed binary: $(cat "$WORK/err")"
  # --threads 0 follows the CPU affinity (cpus.hpp), which the model's provenance records.
  if command -v taskset >/dev/null; then
    taskset -c 0 "$P/bin/vidrec" train "$WORK/d.vrd" -o "$WORK/one.vrm" --factors 4 --iterations 1 -q
    expect_exit 0 "inspect" -- "$P/bin/vidrec" inspect "$WORK/one.vrm"
    expect_contains "$WORK/out" '"threads":1' "--threads 0 under taskset -c 0"
  fi
  expect_exit 0 "consumer runs" -- "$C/top_videos" "$WORK/m.vrm" u001 3
  cp "$WORK/out" "$WORK/consumer.out"
  expect_exit 0 "vidrec recommend" -- "$P/bin/vidrec" recommend --model "$WORK/m.vrm" --user u001 -k 3
  cmp -s "$WORK/out" "$WORK/consumer.out" && pass ||
    fail "consumer and vidrec recommend differ: $(cat "$WORK/consumer.out") vs $(cat "$WORK/out")"
else
  fail "examples/cmake-consumer does not build against the install: $(tail -c 1500 "$WORK/consumer.log")"
fi

# The .deb packages, made from this build without rebuilding.
D=$WORK/deb
if cpack --config "$BUILD/CPackConfig.cmake" -B "$D" >"$WORK/cpack.log" 2>&1; then
  pass
  deb=$(ls "$D"/vidrec_*.deb 2>/dev/null | head -1)
  if [ -n "$deb" ]; then
    dpkg-deb --info "$deb" >"$WORK/info"
    for lib in libmicrohttpd libzip "libopenblas0 | liblapack3" libc6; do
      grep -q "^ Depends:.*$lib" "$WORK/info" && pass || fail "Depends lacks $lib: $(grep Depends "$WORK/info")"
    done
    for field in Maintainer Section Description; do
      grep -q "^ $field: ." "$WORK/info" && pass || fail ".deb has no $field"
    done
    dpkg-deb --contents "$deb" >"$WORK/contents"
    for f in ./usr/bin/vidrec ./usr/share/man/man1/vidrec.1 ./usr/share/man/man1/vidrec-train.1 \
      ./usr/share/bash-completion/completions/vidrec ./usr/share/doc/vidrec/copyright; do
      if [ "$f" != "${f#./usr/share/man}" ] && ! grep -q '^VIDREC_MAN_PAGES:BOOL=ON' "$BUILD/CMakeCache.txt"; then continue; fi
      grep -q " $f\$" "$WORK/contents" && pass || fail "$f not in $(basename "$deb")"
    done
    dpkg-deb -x "$deb" "$WORK/root"
    expect_exit 0 "vidrec --version from the unpacked .deb" -- "$WORK/root/usr/bin/vidrec" --version
    expect_contains "$WORK/out" "vidrec " "vidrec --version from the unpacked .deb"
  else
    fail "cpack made no vidrec_*.deb: $(ls "$D")"
  fi
  ls "$D"/vidrec-dev_*.deb >/dev/null 2>&1 && pass || fail "cpack made no vidrec-dev_*.deb"
else
  fail "cpack -G DEB: $(tail -c 1500 "$WORK/cpack.log")"
fi

finish
