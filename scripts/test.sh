#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs the whole test suite (CTest:
# Catch2 unit tests and end-to-end tests of the real binary).
#   scripts/test.sh              Release build in build/
#   scripts/test.sh --sanitize   the same suite under AddressSanitizer and
#                                UndefinedBehaviorSanitizer (build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps
case "${1:-}" in
  "")
    configure_build build Release
    ctest --test-dir build --output-on-failure -j "$(nproc)"
    ;;
  --sanitize)
    configure_build build-asan RelWithDebInfo all -DVIDREC_SANITIZE=ON
    ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
    ;;
  *)
    echo "usage: scripts/test.sh [--sanitize]" >&2
    exit 2
    ;;
esac
