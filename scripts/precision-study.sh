#!/usr/bin/env bash
# The coverage studies of docs/outputs.md ("How precise is this?", issue 22): `random` over
# 4 single-worker servers with exponential service (each an M/M/1), 200 seeds each, one
# replication per seed; how often the 95% intervals of the mean and p99 hold the truth.
#
#   scripts/precision-study.sh            # every study (about half an hour on two idle cores)
#   scripts/precision-study.sh rho50 ...  # only those named: rho50 rho95 rho99 warmup
#   SEEDS=100 scripts/precision-study.sh  # fewer seeds (the binomial error of a coverage
#                                         # estimate is √(0.95·0.05/seeds): 1.5 points at 200)
#
# Each line printed is one study (examples/precision_study.rs): runs whose precision was
# met, the worst half-width against its target, the mean final length, the coverage.
# A study, not a test: run it niced, and quote its figures in docs/outputs.md.
set -euo pipefail
cd "$(dirname "$0")/.."

studies=("$@")
((${#studies[@]})) || studies=(rho50 rho95 rho99 warmup)

nice -n 19 cargo build --release --locked --quiet --example precision_study
study() { nice -n 19 ./target/release/examples/precision_study --seeds "${SEEDS:-200}" "$@"; }

for s in "${studies[@]}"; do
  case "$s" in
    # --precision 5% (mean and p99) at half load, from 2,000 requests.
    rho50) study --rho 0.5 --precision 5% --requests 2000 --max-requests 10000000 ;;
    # Near saturation: 5%, from 20,000 requests (about 30 million at the end; ~6 minutes).
    rho95) study --rho 0.95 --precision 5% --requests 20000 --max-requests 50000000 ;;
    # At ρ = 0.99 a 5% interval needs ~16× the requests of ρ = 0.95: 10% (~118 million at
    # the end, 15% of the runs at the cap; ~18 minutes for 200 seeds on two idle cores).
    rho99) study --rho 0.99 --precision 10% --requests 200000 --max-requests 200000000 ;;
    # Warm-up 0 (measure from the empty start) against auto on short runs near saturation,
    # with and without --precision.
    warmup)
      for w in 0 auto; do
        for n in 20000 100000; do study --rho 0.95 --requests "$n" --warmup "$w"; done
      done
      for w in 0 auto; do
        study --rho 0.95 --precision 10% --requests 20000 --max-requests 50000000 --warmup "$w"
      done
      ;;
    *) echo "unknown study $s (rho50 rho95 rho99 warmup)" >&2; exit 2 ;;
  esac
done
