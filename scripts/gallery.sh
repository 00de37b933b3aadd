#!/usr/bin/env bash
# The chart gallery.
#
#   scripts/gallery.sh                # every chart of every shipped scenario, a sweep and a plan,
#                                     # into output/gallery/ (SCENARIO-CHART.png), and the docs'
#                                     # gallery (docs/gallery/*.png) refreshed
#   scripts/gallery.sh --out DIR      # the same into DIR
#   scripts/gallery.sh --docs         # only the docs' gallery refreshed (a minute, not five)
#   scripts/gallery.sh --check        # only whether docs/gallery/ is what the current code draws
#                                     # (exit 1 and a list if not)
#
# Charts are deterministic (same scenario and seed, same bytes), so the committed docs
# gallery can be checked. docs/gallery/README.md says how each image was made (keep it in
# step with the commands below). It shows web-peak's five run charts, the sweep, the plan and the
# plan over a range of rates below,
# and grpc-k8s's queue timeline (docs/connections.md).
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
docs_only=false
out=output/gallery
while (($#)); do
  case "$1" in
    --check) check=true ;;
    --docs) docs_only=true ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    *) echo "usage: scripts/gallery.sh [--check | --docs | --out DIR]" >&2; exit 2 ;;
  esac
  shift
done

cargo build --release --quiet
bin=./target/release/lbsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_charts=(response_time_cdf percentiles queue_timeline latency_timeline server_load imbalance)
# The sweep of docs/capacity-planning.md (fewer requests per point) and its plan example.
sweep() { "$bin" sweep scenarios/web-peak.toml --vary arrivals.rate=500:990:50 --requests 100000 --out "$1" --quiet > /dev/null; }
plan() {
  "$bin" plan scenarios/web-peak.toml --slo 'p99<=100ms' --slo 'utilization<=80%' --rate 2000 --requests 100000 \
    --out "$1" --quiet > /dev/null
}
# Servers needed against the rate (four strategies, fewer requests per candidate).
plan_rates() {
  "$bin" plan scenarios/web-peak.toml --slo 'p99<=100ms' --rate 1000:3000:5 --requests 50000 \
    --strategies round-robin,random,least-connections,least-work-left --out "$1" --quiet > /dev/null
}

# The docs gallery: web-peak's run charts, the sweep's p99 chart, the plan and grpc-k8s's timeline.
docs() { # $1 = directory to fill
  "$bin" run scenarios/web-peak.toml --quiet --out "$tmp/docs-run" > /dev/null
  for c in "${run_charts[@]}"; do cp "$tmp/docs-run/$c.png" "$1/$c.png"; done
  sweep "$tmp/docs-sweep"
  cp "$tmp/docs-sweep/sweep_p99.png" "$1/sweep_p99.png"
  plan "$tmp/docs-plan"
  cp "$tmp/docs-plan/plan.png" "$1/plan.png"
  plan_rates "$tmp/docs-plan-rates"
  cp "$tmp/docs-plan-rates/plan_rates.png" "$1/plan_rates.png"
  # docs/connections.md: a scale-out under connection pinning.
  "$bin" run scenarios/grpc-k8s.toml --quiet --out "$tmp/docs-grpc" > /dev/null
  cp "$tmp/docs-grpc/queue_timeline.png" "$1/grpc-k8s-queue_timeline.png"
}

if $check; then
  mkdir -p "$tmp/docs"
  docs "$tmp/docs"
  stale=()
  for f in "$tmp"/docs/*.png; do
    cmp -s "$f" "docs/gallery/$(basename "$f")" || stale+=("docs/gallery/$(basename "$f")")
  done
  if ((${#stale[@]})); then
    echo "out of date (run scripts/gallery.sh): ${stale[*]}" >&2
    exit 1
  fi
  echo "gallery up to date"
  exit 0
fi

if $docs_only; then
  mkdir -p docs/gallery
  docs docs/gallery
  echo "refreshed docs/gallery/"
  exit 0
fi

mkdir -p "$out"
rm -f "$out"/*.png
for f in scenarios/*.toml; do
  name=$(basename "$f" .toml)
  "$bin" run "$f" --quiet --out "$tmp/$name" > /dev/null
  for c in "${run_charts[@]}"; do cp "$tmp/$name/$c.png" "$out/$name-$c.png"; done
done
sweep "$tmp/sweep"
for c in sweep_p99 sweep_mean; do cp "$tmp/sweep/$c.png" "$out/web-peak-$c.png"; done
plan "$tmp/plan"
cp "$tmp/plan/plan.png" "$out/web-peak-plan.png"
plan_rates "$tmp/plan-rates"
cp "$tmp/plan-rates/plan_rates.png" "$out/web-peak-plan_rates.png"
echo "wrote $(find "$out" -name '*.png' | wc -l) charts to $out/"

mkdir -p docs/gallery
docs docs/gallery
echo "refreshed docs/gallery/"
