#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library's layout holds: every include of lib/vidrec/ points down the
# stack (README, "Code map"), and no file in lib/ grows past 500 lines.
#   tests/layout_test.sh PROJECT_ROOT
set -euo pipefail
cd "${1:-$(dirname "$0")/..}/lib/vidrec"

# What each folder may include besides itself, lowest first.
declare -A may=(
  [base]=""
  [io]="base"
  [dataset]="base io"
  [ingest]="base io dataset"
  [model]="base io dataset"
  [als]="base io dataset model"
  [options]="base io dataset ingest model als"
  [recommend]="base io dataset model"
  [inspect]="base io dataset ingest model"
  [evaluate]="base io dataset model recommend"
  [interop]="base io dataset model"
  [tune]="base io dataset model als recommend evaluate"
  [explain]="base io dataset model als recommend"
  [serve]="base io dataset ingest model als options recommend evaluate explain"
  [report]="base io dataset ingest model recommend inspect evaluate tune"
)
max_lines=500
bad=0
for dir in */; do
  dir=${dir%/}
  if [ -z "${may[$dir]+set}" ]; then
    echo "lib/vidrec/$dir: a folder the layout does not know; add it to tests/layout_test.sh and the README" >&2
    bad=1
    continue
  fi
  for f in "$dir"/*; do
    while IFS=: read -r line target; do
      [ "$target" = "$dir" ] && continue
      case " ${may[$dir]} " in
        *" $target "*) ;;
        *) echo "lib/vidrec/$f:$line: includes vidrec/$target/, which $dir/ may not use (allowed: ${may[$dir]:-none})" >&2
           bad=1 ;;
      esac
    done < <(grep -nE '^#include "vidrec/[a-z_]+/' "$f" | sed -E 's|^([0-9]+):#include "vidrec/([a-z_]+)/.*|\1:\2|')
    lines=$(wc -l < "$f")
    if [ "$lines" -gt "$max_lines" ]; then
      echo "lib/vidrec/$f: $lines lines (over $max_lines): split it along its seams" >&2
      bad=1
    fi
  done
done
if grep -rn '^#include "vidrec/[a-z_]*\.hpp"' . >&2; then
  echo "includes above name a header outside the stage folders" >&2
  bad=1
fi
[ "$bad" -eq 0 ] && echo "layout: $(ls -d */ | wc -l) folders, $(find . -type f | wc -l) files, includes point down, none over $max_lines lines"
exit "$bad"
