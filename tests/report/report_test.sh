#!/usr/bin/env bash
# Renders the report of a real (quick) demo run in headless Chromium and checks that
# every section, chart and image grid is present, every arm ran, and that the page logs no
# console errors. Usage: report_test.sh <unigap-binary> <work-dir>
set -u
BIN="$1"
WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK"
fail=0
total=0
check() {
  total=$((total + 1))
  if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fail=$((fail + 1)); fi
}

# One thread: ctest runs another test on the other core, and two OpenMP teams on 2 cores thrash.
"$BIN" --threads 1 demo --quick --out "$WORK/demo" -q > "$WORK/demo.log" 2>&1
check demo_exit "[ $? -eq 0 ]"
HTML="$WORK/demo/report.html"
check report_written "[ -s '$HTML' ]"
# Self-contained: no external http(s) resources.
check no_external_assets "! grep -Eq '(src|href)=\"https?://' '$HTML'"

CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
check chromium_installed "[ -n '$CHROMIUM' ]"
FLAGS="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$WORK/profile"
timeout 120 "$CHROMIUM" $FLAGS --enable-logging=stderr --v=0 --dump-dom "file://$HTML" > "$WORK/dom.html" 2> "$WORK/chromium.log"
check chromium_rendered "[ -s '$WORK/dom.html' ]"
timeout 120 "$CHROMIUM" $FLAGS --window-size=1200,3000 --screenshot="$WORK/report.png" "file://$HTML" > /dev/null 2>&1
check screenshot "[ -s '$WORK/report.png' ]"
for id in setup base methods curves confusion audit dynamics images claims; do
  check "section_$id" "grep -q 'id=\"$id\"' '$WORK/dom.html'"
done
check "charts_present" "[ \$(grep -o '<svg' '$WORK/dom.html' | wc -l) -ge 5 ]"
check "chart_points" "grep -q 'class=\"point\"' '$WORK/dom.html'"
check "image_grid" "[ \$(grep -o 'src=\"data:image/png;base64' '$WORK/dom.html' | wc -l) -ge 8 ]"
check "claims_table" "grep -q 'this run' '$WORK/dom.html'"
check "machine_named" "grep -q 'BLAS kernels' '$WORK/dom.html'"
# The quick demo runs every arm on the shipped base: none failed, each in the table, the judge named.
check "no_failed_arm" "! grep -q 'failed: ' '$WORK/dom.html'"
for arm in sft-self sft-plain dpo-self sft-inverted; do
  check "arm_$arm" "grep -q '<td>$arm: ' '$WORK/dom.html'"
done
check "judge_named" "grep -q 'External judge: oracle' '$WORK/dom.html'"
check "no_console_errors" "! grep -E 'CONSOLE|Uncaught|SyntaxError' '$WORK/chromium.log'"
passed=$((total - fail))
echo "$passed passed, $fail failed"
[ $fail -eq 0 ]
