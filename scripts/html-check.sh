#!/usr/bin/env bash
# report.html in a real browser: renders the report.html of a run (web-peak-failure and
# gray-failure), a sweep and a plan in headless Chromium (Debian's `chromium` package,
# installed here with apt-get when missing) at 1280 px and checks, in the page itself, that
#   - every image loads (complete, naturalWidth > 0), and there is at least one;
#   - nothing overflows horizontally: the page is no wider than the window, no element
#     reaches past its right edge, and no element scrolls sideways inside itself.
# A copy of each page gets a script that writes its verdict into the DOM, read back with
# `chromium --dump-dom`; the report itself has no script.
#
#   scripts/html-check.sh                  # check (exit 1 with the failures listed)
#   scripts/html-check.sh --screenshot     # also refresh docs/report-html.png (the top of
#                                          # web-peak-failure's page, full run)
#
# Run by .ci/run. Small runs (--requests) keep it to a minute or so.
set -euo pipefail
cd "$(dirname "$0")/.."

screenshot=false
case "${1:-}" in
  --screenshot) screenshot=true ;;
  "") ;;
  *) echo "usage: scripts/html-check.sh [--screenshot]" >&2; exit 2 ;;
esac

browser=$(command -v chromium || true)
if [[ -z $browser ]]; then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  # Another apt-get may hold the dpkg lock: wait for it (bounded).
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends chromium > /dev/null; then
      break
    fi
    [[ $attempt -lt 10 ]] || { echo "cannot install chromium" >&2; exit 1; }
    sleep 15
  done
  browser=$(command -v chromium)
fi

cargo build --release --locked --quiet
bin=./target/release/lbsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" run scenarios/web-peak-failure.toml --requests 40000 --quiet --out "$tmp/web-peak-failure" > /dev/null
"$bin" run scenarios/gray-failure.toml --requests 40000 --quiet --out "$tmp/gray-failure" > /dev/null
"$bin" sweep scenarios/web-peak.toml --vary arrivals.rate=500:990:70 --requests 20000 --quiet \
  --out "$tmp/sweep" > /dev/null
"$bin" plan scenarios/web-peak.toml --slo 'p99<=100ms' --rate 2000 --requests 20000 --quiet \
  --out "$tmp/plan" > /dev/null
"$bin" plan scenarios/web-peak.toml --slo 'p99<=100ms' --rate 1000:2000:3 --requests 10000 \
  --strategies round-robin,least-connections --quiet --out "$tmp/plan-rates" > /dev/null

# The checks, run once the page and its images have loaded.
read -r -d '' check <<'EOF' || true
<script>
window.addEventListener("load", () => {
  const width = document.documentElement.clientWidth;
  const images = Array.from(document.images);
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt);
  const over = [];
  if (document.documentElement.scrollWidth > width) over.push("page " + document.documentElement.scrollWidth);
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 0.5) over.push(el.tagName + " right " + Math.round(r.right));
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== "inline")
      over.push(el.tagName + " scrolls " + el.scrollWidth + ">" + el.clientWidth);
  }
  const out = document.createElement("pre");
  out.id = "lbsim-check";
  out.textContent = "window=" + width + " images=" + images.length + " broken=" + broken.length +
    " [" + broken.join(",") + "] overflow=" + over.length + " [" + over.slice(0, 5).join("; ") + "]";
  document.body.appendChild(out);
});
</script>
EOF

chrome() { "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1000 \
  --virtual-time-budget=10000 "$@" 2> /dev/null; }

failed=0
for page in web-peak-failure gray-failure sweep plan plan-rates; do
  html="$tmp/$page/report.html"
  [[ -s $html ]] || { echo "$page: no report.html" >&2; failed=1; continue; }
  # The check appended after the page (a browser runs a script there as part of the body).
  { cat "$html"; printf '%s\n' "$check"; } > "$tmp/$page/checked.html"
  verdict=$(chrome --dump-dom "file://$tmp/$page/checked.html" | sed -n 's#.*<pre id="lbsim-check">\(.*\)</pre>.*#\1#p')
  echo "$page: $verdict"
  if [[ ! $verdict =~ ^window=1280\ images=[1-9][0-9]*\ broken=0\ .*overflow=0\  ]]; then
    echo "$page: report.html fails the check (window 1280 px, every image loaded, nothing overflowing)" >&2
    failed=1
  fi
done

if $screenshot && ((failed == 0)); then
  # The whole scenario (not the shortened check run), as a user sees it.
  "$bin" run scenarios/web-peak-failure.toml --quiet --out "$tmp/full" > /dev/null
  chrome --screenshot="$tmp/shot.png" --window-size=1280,1600 "file://$tmp/full/report.html" > /dev/null
  cp "$tmp/shot.png" docs/report-html.png
  echo "refreshed docs/report-html.png"
fi
exit "$failed"
