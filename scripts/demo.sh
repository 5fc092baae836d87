#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds Release, and runs the pipeline on examples/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps
configure_build build Release vidrec
VIDREC=build/apps/vidrec
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== vidrec prepare examples/interactions.csv" >&2
"$VIDREC" prepare examples/interactions.csv -o "$OUT/interactions.vrd"
echo "== vidrec inspect" >&2
"$VIDREC" inspect "$OUT/interactions.vrd"
echo "== vidrec inspect --dump csv (first rows)" >&2
"$VIDREC" inspect "$OUT/interactions.vrd" --dump csv | head -6

echo "== vidrec train --config examples/train.toml" >&2
"$VIDREC" train "$OUT/interactions.vrd" -o "$OUT/model.vrm" --config examples/train.toml
echo "== vidrec inspect model" >&2
"$VIDREC" inspect "$OUT/model.vrm"
echo "== vidrec similar --video v001 -k 3" >&2
"$VIDREC" similar --model "$OUT/model.vrm" --video v001 -k 3
echo "== vidrec recommend --user u001 -k 3" >&2
"$VIDREC" recommend --model "$OUT/model.vrm" --user u001 -k 3
