#!/usr/bin/env bash
# Issue 24: the autoscaler and the pods' life add no per-request cost. Runs the benchmark
# scenario (benches/bench.toml at 2·10⁶ requests; round robin, least connections, p2c; one
# thread) three ways, interleaved, three rounds, and prints each one's user CPU seconds:
#   plain  the default path (no faults: the engine's plain loop);
#   full   the full loop (a fault after the run's end switches it on, nothing happens);
#   pods   the full loop with [autoscaler] (min = max = 16: it syncs, never scales) and [pods].
# pods against full is the cost of the pool's life per request; with a second binary
# (e.g. a baseline) its plain run is printed beside this one's.
#
#   scripts/pool-cost.sh target/release/lbsim [BASELINE_BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
new=$(realpath "$1")
base=${2:+$(realpath "$2")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e 's/^requests = .*/requests = 2_000_000/' -e 's/^warmup_requests = .*/warmup_requests = 20_000/' \
  benches/bench.toml >"$tmp/plain.toml"
cp "$tmp/plain.toml" "$tmp/full.toml"
printf '\n[[faults]]\nserver = "s-1"\ndown_at = "100000s"\nup_at = "100001s"\n' >>"$tmp/full.toml"
cp "$tmp/plain.toml" "$tmp/pods.toml"
printf '\n[autoscaler]\nmin_replicas = 16\nmax_replicas = 16\ntarget = 60\n\n[pods]\nprovision = "30s"\n' \
  >>"$tmp/pods.toml"
runs=("new plain" "new full" "new pods")
[[ -n "$base" ]] && runs=("base plain" "${runs[@]}")
for round in 1 2 3; do
  for r in "${runs[@]}"; do
    read -r which f <<<"$r"
    bin=$new
    [[ $which == base ]] && bin=$base
    /usr/bin/time -f "$which $f %U" "$bin" run "$tmp/$f.toml" --threads 1 --quiet --no-html \
      --strategies round-robin,least-connections,p2c --out "$tmp/out-$which-$f" >/dev/null 2>>"$tmp/times"
  done
  echo "round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "user CPU seconds, best of 3 (6·10⁶ requests each):"
sort -k1,2 -k3n "$tmp/times" | awk '!seen[$1" "$2]++ {print "  " $1 " " $2 ": " $3}'
