#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec report`: the page's numbers against `inspect
# --json` and `evaluate --json`, escaping of a hostile user id, errors, and
# the page opened in headless Chromium without a network: no console message,
# every chart drawn, a screenshot taken. Skips (exit 77) only when Chromium
# cannot run at all, after the other checks passed.
# Usage: report_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

# 300 users in 4 taste groups, and one whose id is markup.
{
  taste_log 300 24 5
  for i in $(seq 0 11); do echo "<script>alert(1)</script>,vid00$((i % 10)),watch,2,X,$((1700000000 + i * 60))"; done
} >"$WORK/log.csv"
"$VIDREC" prepare "$WORK/log.csv" -o "$WORK/all.vrd" -q &&
  "$VIDREC" split "$WORK/all.vrd" -o "$WORK/train.vrd" --test "$WORK/test.vrd" -q &&
  "$VIDREC" train "$WORK/train.vrd" -o "$WORK/m.vrm" --iterations 6 --loss -q &&
  "$VIDREC" tune "$WORK/train.vrd" -o "$WORK/t.vrm" --trials 4 --threads 2 -q >"$WORK/tune.jsonl" ||
  { echo "pipeline failed"; exit 1; }

expect_exit 0 "report with every input" -- "$VIDREC" report --model "$WORK/m.vrm" --test "$WORK/test.vrd" \
  --tune-log "$WORK/tune.jsonl" --dataset "$WORK/train.vrd" -o "$WORK/r.html"
expect_contains "$WORK/err" "report: evaluating k = 1..50" "progress on stderr"
expect_eq "$(wc -c <"$WORK/out")" "0" "nothing on stdout with -o FILE"
expect_exit 0 "report to stdout" -- "$VIDREC" report --model "$WORK/m.vrm" --test "$WORK/test.vrd" \
  --tune-log "$WORK/tune.jsonl" --dataset "$WORK/train.vrd" -o - -q
cmp -s "$WORK/out" "$WORK/r.html" && pass || fail "stdout page differs from the file's (not deterministic?)"
expect_eq "$(wc -c <"$WORK/err")" "0" "-q: no progress"

# The embedded figures are inspect's and evaluate's.
"$VIDREC" inspect --json "$WORK/m.vrm" >"$WORK/im.json"
"$VIDREC" inspect --json "$WORK/train.vrd" >"$WORK/id.json"
for k in 1 5 10 50; do "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/test.vrd" --json -k $k >"$WORK/e$k.json"; done
python3 - "$WORK" <<'PY' && pass || fail "embedded figures differ from inspect --json / evaluate --json"
import json, re, sys
w = sys.argv[1]
html = open(w + "/r.html", encoding="utf-8").read()
d = json.loads(re.search(r'<script type="application/json" id="vidrec-data">(.*?)</script>', html, re.S).group(1))
assert d["model"] == json.load(open(w + "/im.json")), "model card"
assert d["dataset"] == json.load(open(w + "/id.json")), "dataset"
at = d["evaluation"]["at"]
assert len(at) == 50 and not d["evaluation"]["sampled"]
for k in (1, 5, 10, 50):
    assert at[k - 1] == json.load(open("%s/e%d.json" % (w, k))), k
assert len(d["model"]["meta"]["training"]["loss"]) == 6
assert d["tune"]["evaluations"] and d["tune"]["best"] >= 0
PY

# The hostile id is text, never markup.
grep -qF '<script>alert' "$WORK/r.html" && fail "raw <script> id in the page" || pass
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$WORK/r.html" && pass || fail "escaped id missing"

# Errors: usage 2, data 1 naming the file (and line); a failed run keeps the old page.
cp "$WORK/r.html" "$WORK/keep.html"
expect_exit 2 "no --model" -- "$VIDREC" report -o "$WORK/r.html"
expect_exit 2 "max-k 0" -- "$VIDREC" report --model "$WORK/m.vrm" --max-k 0 -o "$WORK/r.html"
expect_exit 2 "output names the model" -- "$VIDREC" report --model "$WORK/m.vrm" -o "$WORK/m.vrm"
expect_exit 1 "missing model" -- "$VIDREC" report --model "$WORK/none.vrm" -o "$WORK/r.html"
expect_contains "$WORK/err" "none.vrm" "missing model named"
printf '{"trial":0,"parameters":{},"value":0.1}\n{oops\n' >"$WORK/bad.jsonl"
expect_exit 1 "bad tune log" -- "$VIDREC" report --model "$WORK/m.vrm" --tune-log "$WORK/bad.jsonl" -o "$WORK/r.html"
expect_contains "$WORK/err" "bad.jsonl:2: not a JSON object" "tune log line named"
cmp -s "$WORK/r.html" "$WORK/keep.html" && pass || fail "a failed report replaced the page"

# Chromium: the page offline, its console, its charts.
CHROME=$(command -v chromium || command -v chromium-browser || true)
NONET=()
unshare -n true 2>/dev/null && NONET=(unshare -n)
chrome() {
  timeout 120 "${NONET[@]}" "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$WORK/chrome" \
    --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 "$@"
}
if [ -z "$CHROME" ] || ! chrome --dump-dom about:blank >/dev/null 2>"$WORK/chrome.err"; then
  echo "SKIP: chromium cannot run here (${CHROME:-not installed}: $(tail -c 300 "$WORK/chrome.err" 2>/dev/null)); scripts/deps.sh installs it"
  echo "$PASSED passed, $FAILED failed, browser checks skipped"
  [ "$FAILED" -eq 0 ] && exit 77
  exit 1
fi
chrome --dump-dom "file://$WORK/r.html" >"$WORK/dom.html" 2>"$WORK/chrome.err" && pass || fail "chromium --dump-dom failed"
grep -F 'CONSOLE' "$WORK/chrome.err" && fail "console messages while loading the page" || pass
grep -E 'net::ERR|Failed to load resource' "$WORK/chrome.err" && fail "the page asked for the network" || pass
python3 - "$WORK/dom.html" <<'PY' && pass || fail "a chart without content in the rendered DOM"
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
charts = re.findall(r'<svg class="chart".*?</svg>', dom, re.S)
# loss + seconds, 4 curves + 4 per non-empty segment, long tail, 4 tune plots
assert len(charts) >= 2 + 4 + 4 + 1 + 4, len(charts)
for c in charts:
    drawn = re.search(r'<polyline class="series"[^>]* points="[0-9]', c) or '<circle class="point"' in c \
        or re.search(r'<rect class="bar"[^>]* height="[1-9]', c)
    assert drawn, c[:200]
print(len(charts), "charts drawn")
PY
chrome --screenshot="$WORK/shot.png" --window-size=1280,2400 --hide-scrollbars "file://$WORK/r.html" >/dev/null 2>&1
[ "$(head -c 4 "$WORK/shot.png" 2>/dev/null | od -An -c | tr -d ' ')" = "211PNG" ] && pass || fail "no PNG screenshot"
finish
