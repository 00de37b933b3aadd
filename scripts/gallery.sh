#!/usr/bin/env bash
# Regenerates the chart gallery shown in docs/outputs.md (docs/gallery/*.png) from the shipped
# scenario scenarios/web-peak.toml. Charts are deterministic, so `--check` verifies that
# the committed images are what the current code draws (exit 1 and a list if not).
#
#   scripts/gallery.sh           # rewrite docs/gallery/
#   scripts/gallery.sh --check   # compare only
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: scripts/gallery.sh [--check]" >&2; exit 2 ;;
esac

cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./target/release/lbsim run scenarios/web-peak.toml --quiet --format csv --out "$tmp" > /dev/null

charts=(response_time_cdf percentiles queue_timeline server_load imbalance)
if $check; then
  stale=()
  for c in "${charts[@]}"; do
    cmp -s "$tmp/$c.png" "docs/gallery/$c.png" || stale+=("docs/gallery/$c.png")
  done
  if ((${#stale[@]})); then
    echo "out of date (run scripts/gallery.sh): ${stale[*]}" >&2
    exit 1
  fi
  echo "gallery up to date"
else
  mkdir -p docs/gallery
  for c in "${charts[@]}"; do cp "$tmp/$c.png" "docs/gallery/$c.png"; done
  echo "wrote docs/gallery/{$(IFS=,; echo "${charts[*]}")}.png"
fi
