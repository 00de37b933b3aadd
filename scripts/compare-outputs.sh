#!/usr/bin/env bash
# Proves a change output-neutral: runs every shipped scenario (and a sweep, a plan and a
# remap) with two lbsim binaries and compares every file they write, byte for byte.
#
#   scripts/compare-outputs.sh OLD_BIN NEW_BIN            # CSV, JSON and stdout tables
#   scripts/compare-outputs.sh OLD_BIN NEW_BIN --charts   # PNG charts too
#
# Typical use: build the old commit into a copy (`git worktree add /tmp/old <rev>` and
# `cargo build --release` there), then compare it with ./target/release/lbsim.
# manifest.json (wall time, binary version) is left out. Exit 0 when everything is
# identical, 1 with the list of differing files otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

if (($# < 2)); then
  echo "usage: scripts/compare-outputs.sh OLD_BIN NEW_BIN [--charts]" >&2
  exit 2
fi
old=$(realpath "$1")
new=$(realpath "$2")
charts=false
[[ "${3:-}" == "--charts" ]] && charts=true

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Each job: a name and the arguments after the binary (OUT is replaced by the output dir).
jobs=()
for f in scenarios/*.toml; do
  jobs+=("run-$(basename "$f" .toml)|run $f --out OUT --quiet")
done
jobs+=("sweep-web-peak|sweep scenarios/web-peak.toml --vary arrivals.rate=600:900:3 --requests 50000 --out OUT --quiet")
jobs+=("sweep-closed-loop|sweep scenarios/closed-loop.toml --vary arrivals.clients=20:60:3 --out OUT --quiet")
jobs+=("plan-web-peak|plan scenarios/web-peak.toml --slo p99<=100ms --requests 50000 --strategies random,p2c --out OUT --quiet")
jobs+=("remap-cache-tier|remap scenarios/cache-tier.toml --out OUT")

run_all() { # $1 = binary, $2 = root
  local bin=$1 root=$2
  for job in "${jobs[@]}"; do
    local name=${job%%|*} args=${job#*|}
    local out="$root/$name"
    mkdir -p "$out"
    # shellcheck disable=SC2086
    set -- ${args//OUT/$out}
    if ! $charts && [[ $1 == run ]]; then set -- "$@" --no-charts; fi
    "$bin" "$@" > "$out/stdout.txt" 2> "$out/stderr.txt" || echo "exit $?" >> "$out/stdout.txt"
  done
}

run_all "$old" "$tmp/old"
run_all "$new" "$tmp/new"

differ=()
same=0
while IFS= read -r -d '' f; do
  rel=${f#"$tmp/old/"}
  case "$rel" in
    */manifest.json | */sweep.json | */stderr.txt) continue ;;
    *.png) $charts || continue ;;
  esac
  if [[ ! -e "$tmp/new/$rel" ]]; then
    differ+=("$rel (missing in new)")
  elif cmp -s "$f" "$tmp/new/$rel"; then
    same=$((same + 1))
  else
    differ+=("$rel")
  fi
done < <(find "$tmp/old" -type f -print0 | sort -z)
while IFS= read -r -d '' f; do
  rel=${f#"$tmp/new/"}
  [[ -e "$tmp/old/$rel" ]] || case "$rel" in */manifest.json | */sweep.json | */stderr.txt) ;; *) differ+=("$rel (new only)") ;; esac
done < <(find "$tmp/new" -type f -print0 | sort -z)

echo "$same files identical"
if ((${#differ[@]})); then
  printf 'differ: %s\n' "${differ[@]}"
  exit 1
fi
