#!/usr/bin/env bash
# Screenshots an HTML report the way a reader sees it, to check its layout by eye.
#
# Usage: scripts/screenshot_report.sh REPORT.html OUT_PREFIX [WIDTH]
#
# Writes, with headless Chromium:
#   OUT_PREFIX.png           the whole page at WIDTH CSS px (default 1280), full height
#   OUT_PREFIX.pdf           the page printed to PDF (the report's @media print style)
#   OUT_PREFIX-print-N.png   each PDF page at 60 dpi, when pdftoppm (poppler-utils) is installed
# and prints the page's size and any horizontal overflow it measured: the page wider than the
# window, and every element whose content is wider than its box (a table under the next card, a
# scrollbar inside a card). The report file itself is never changed: the measurement runs on a
# temporary copy with a small script appended.
#
# Needs Chromium (Debian: apt-get install -y chromium; or set CHROMIUM=/path/to/chrome) and
# python3. Runs as root with --no-sandbox. Exit code 0 when written, 1 when overflow was found
# (the images are written all the same), 2 on a usage or tool error.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
report="$1"
prefix="$2"
width="${3:-1280}"
[ -f "$report" ] || { echo "error: no such report: $report" >&2; exit 2; }
case "$width" in *[!0-9]* | '') echo "error: WIDTH must be a number of pixels: $width" >&2; exit 2 ;; esac

browser="${CHROMIUM:-}"
if [ -z "$browser" ]; then
  for candidate in chromium chromium-browser google-chrome google-chrome-stable chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then browser="$(command -v "$candidate")"; break; fi
  done
fi
[ -n "$browser" ] || { echo "error: no Chromium found (apt-get install -y chromium, or set CHROMIUM)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "error: python3 is needed" >&2; exit 2; }

report_abs="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
mkdir -p "$(dirname "$prefix")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

chrome() {
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --no-default-browser-check \
    --user-data-dir="$work/profile" --run-all-compositor-stages-before-draw --virtual-time-budget=2000 "$@" \
    2>"$work/chrome.log"
}

# 1. Measure at WIDTH: page height, and which elements overflow horizontally.
cat "$report_abs" > "$work/measure.html"
cat >> "$work/measure.html" <<'EOF'
<script>
(function () {
  var doc = document.documentElement, found = [];
  document.querySelectorAll('body *').forEach(function (el) {
    var style = getComputedStyle(el);
    if (style.display === 'inline' || el.closest('svg')) return;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && style.overflowX !== 'visible') {
      found.push('scrolls inside: <' + el.tagName.toLowerCase() + ' class="' + el.className + '"> content ' +
                 el.scrollWidth + ' px in ' + el.clientWidth + ' px');
    }
    var box = el.getBoundingClientRect(), parent = el.parentElement && el.parentElement.getBoundingClientRect();
    if (parent && el.tagName === 'TABLE' && box.right > parent.right + 1) {
      found.push('sticks out: <table class="' + el.className + '"> ' + Math.round(box.right - parent.right) +
                 ' px past its container');
    }
  });
  if (doc.scrollWidth > window.innerWidth) found.push('page ' + doc.scrollWidth + ' px wide in a ' + window.innerWidth + ' px window');
  var out = document.createElement('pre');
  out.id = 'layout-measure';
  out.textContent = 'HEIGHT ' + Math.ceil(doc.scrollHeight) + '\n' + found.map(function (f) { return 'OVERFLOW ' + f; }).join('\n');
  document.body.appendChild(out);
})();
</script>
EOF
chrome --window-size="$width,1000" --dump-dom "file://$work/measure.html" > "$work/dom.html" \
  || { echo "error: Chromium failed to load the report:" >&2; cat "$work/chrome.log" >&2; exit 2; }
measure="$(python3 - "$work/dom.html" <<'EOF'
import html, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
match = re.search(r'<pre id="layout-measure">(.*?)</pre>', text, re.S)
print(html.unescape(match.group(1)) if match else "HEIGHT 0")
EOF
)"
height="$(printf '%s\n' "$measure" | sed -n 's/^HEIGHT //p')"
[ "${height:-0}" -gt 0 ] || { echo "error: could not measure the page height" >&2; exit 2; }
max_height=16000
if [ "$height" -gt "$max_height" ]; then
  echo "note: page is $height px high; the screenshot stops at $max_height px" >&2
  height=$max_height
fi

# 2. The full-page screenshot and the printed PDF.
chrome --window-size="$width,$height" --screenshot="$prefix.png" "file://$report_abs" \
  || { echo "error: screenshot failed:" >&2; cat "$work/chrome.log" >&2; exit 2; }
chrome --no-pdf-header-footer --print-to-pdf="$prefix.pdf" "file://$report_abs" \
  || { echo "error: print to PDF failed:" >&2; cat "$work/chrome.log" >&2; exit 2; }
echo "screenshot: $prefix.png ($width x $height px)"
echo "print:      $prefix.pdf"
if command -v pdftoppm >/dev/null; then
  rm -f "$prefix"-print-*.png
  pdftoppm -png -r 60 "$prefix.pdf" "$prefix-print"
  echo "pages:      $(ls "$prefix"-print-*.png | wc -l) x $prefix-print-N.png (60 dpi)"
fi

overflow="$(printf '%s\n' "$measure" | sed -n 's/^OVERFLOW //p')"
if [ -n "$overflow" ]; then
  echo "horizontal overflow at $width px:"
  printf '%s\n' "$overflow" | sed 's/^/  /'
  exit 1
fi
echo "no horizontal overflow at $width px"
