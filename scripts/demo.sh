#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds Release, and runs the pipeline on examples/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps
configure_build build Release
VIDREC=build/apps/vidrec
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== vidrec prepare examples/interactions.csv" >&2
"$VIDREC" prepare examples/interactions.csv -o "$OUT/interactions.vrd"
echo "== vidrec inspect" >&2
"$VIDREC" inspect "$OUT/interactions.vrd"
echo "== vidrec inspect --dump csv (first rows)" >&2
"$VIDREC" inspect "$OUT/interactions.vrd" --dump csv | head -6

echo "== vidrec train" >&2
"$VIDREC" train "$OUT/interactions.vrd" -o "$OUT/model.vrm" --factors 8 --iterations 10
echo "== vidrec inspect model" >&2
"$VIDREC" inspect "$OUT/model.vrm"
