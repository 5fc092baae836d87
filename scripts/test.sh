#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs the whole test suite (CTest:
# Catch2 unit tests and end-to-end tests of the real binary).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps
configure_build build Release
ctest --test-dir build --output-on-failure -j "$(nproc)"
