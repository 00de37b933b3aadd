#!/usr/bin/env bash
# The load generator's ceiling, side by side with oha and wrk, in one run (issue 28).
#
# Against nginx answering `return 204` on loopback (1 worker, keep-alive with
# `keepalive_requests 1000000` so that no generator measures nginx's reconnections every
# 1,000 requests, access log off),
# for each offered rate R (Poisson arrivals, SECONDS of schedule, RUNS runs each):
#   - lbsim load (open loop, --calibration 0): send lateness p99, failures, valid or not;
#   - oha in rate mode with latency correction (`oha -z SECONDS -q R --latency-correction
#     -c 50`): achieved rate, success rate, response p99;
# then wrk closed loop (`wrk -t1 -c32`) for what the target completes flat out, and
# `lbsim backends`' own ceiling: lbsim load against one zero-demand backend at the same rates
# (valid, 0 failures, and the backend's wait overshoot p99).
#
# A valid rate: every run valid (lateness p99 <= 1 ms, every request completed); oha's: every
# run achieved >= 99% of R with 100% success. The ceiling is the highest valid rate tried.
# The machine's state (load average, busy nice-19 jobs) is printed with each measurement.
#
# --realtime: lbsim's senders run SCHED_FIFO (priority 10), and so do oha and wrk (`chrt -f
# 10`: every generator the same scheduling); nginx runs at SCHED_FIFO priority 20, above
# them, as if on a machine of its own (and so does `lbsim backends` in the last part). Without it, on a shared machine nginx gets an equal
# share of a core with every other session's work (the kernel's autogroup scheduling gives
# each session the same weight, whatever its jobs' nice), and the real-time senders take the
# rest: measured, nginx ran ~25% of the time with 500 connections in its accept queue, and
# every generator measured nginx, not itself.
#
# Installs what is missing: nginx and wrk (apt-get), oha (`cargo install oha --locked`).
#
#   scripts/load-ceiling.sh                       # rates 5k 20k 35k 50k 75k 100k, 4 s, 2 runs
#   scripts/load-ceiling.sh --rates "5000 50000" --runs 1 --realtime
#   scripts/load-ceiling.sh --quick               # CI smoke: 2,000 req/s, 1 s, 1 run
set -euo pipefail

RATES="5000 20000 35000 50000 75000 100000"
SECONDS_PER_RUN=4
RUNS=2
LBSIM=target/release/lbsim
REALTIME=()
GEN=()    # how oha and wrk are started (chrt with --realtime)
TARGET=() # how nginx is started
EXTRA=()
OUT=output/load-ceiling
while [ $# -gt 0 ]; do
    case "$1" in
        --rates) RATES="$2"; shift 2 ;;
        --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --lbsim) LBSIM="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --realtime) REALTIME=(--realtime); GEN=(chrt -f 10); TARGET=(chrt -f 20); shift ;;
        --quick) RATES="2000"; SECONDS_PER_RUN=1; RUNS=1; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "usage: $0 [--rates \"R1 R2 ...\"] [--seconds S] [--runs N] [--lbsim PATH] [--out DIR] [--realtime] [--quick] [-- extra lbsim load options]" >&2; exit 2 ;;
    esac
done

need_apt() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2 (apt-get)" >&2
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null 2>&1; then
            return
        fi
        sleep 10 # the dpkg lock may be held by another process
    done
    echo "cannot install $2" >&2
    exit 1
}
need_apt nginx nginx-light
need_apt wrk wrk
if ! command -v oha >/dev/null 2>&1; then
    echo "installing oha (cargo install oha --locked)" >&2
    cargo install oha --locked --quiet
    export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v python3 >/dev/null 2>&1 || need_apt python3 python3
[ -x "$LBSIM" ] || cargo build --release --quiet

mkdir -p "$OUT"
WORK=$(mktemp -d)
NGINX_PID=""
BACKENDS_PID=""
cleanup() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
    [ -n "$BACKENDS_PID" ] && kill "$BACKENDS_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=18204
cat > "$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK;
    proxy_temp_path $WORK;
    fastcgi_temp_path $WORK;
    uwsgi_temp_path $WORK;
    scgi_temp_path $WORK;
    server {
        listen 127.0.0.1:$PORT;
        location / { return 204; }
    }
}
EOF
"${TARGET[@]}" nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

machine() {
    local load busy
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    busy=$(ps -eo ni=,pcpu= | awk '$1 >= 10 && $2 > 20 { n++ } END { print n + 0 }')
    echo "load average $load; $busy busy process(es) at nice >= 10; $(nproc) cores; autogroup $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo -)"
}

scenario() { # rate seconds file
    cat > "$3" <<EOF
name = "ceiling"
seed = 1
requests = $(( $1 * $2 ))
warmup_requests = 0
strategies = ["round-robin"]

[arrivals]
process = "poisson"
rate = $1.0

[service]
distribution = "deterministic"
mean = "1us"

[[servers]]
name = "b"
workers = 100000
EOF
}

# Prints: lateness_p99_ms failed sent valid limited_by-or-dash overshoot_p99_ms
lbsim_run() { # rate target dir
    scenario "$1" "$SECONDS_PER_RUN" "$WORK/s.toml"
    "$LBSIM" load "$WORK/s.toml" --target "$2" --calibration 0 --quiet --no-charts --out "$3" \
        "${REALTIME[@]}" "${EXTRA[@]}" >/dev/null 2>"$3.err" || true
    python3 - "$3/measurement.json" <<'EOF'
import json, sys
try:
    m = json.load(open(sys.argv[1]))
except Exception:
    print("nan", "all", 0, "no", "did-not-run", "-"); sys.exit()
late = (m.get("lateness") or {}).get("p99_ms", float("nan"))
failed = sum(m.get("failures", {}).values())
over = (m.get("backend_overshoot") or {}).get("p99_ms")
valid = m["valid"] and failed == 0 and late <= m["max_lateness_p99_ms"]
print(f"{late:.3f}", failed, m["sent"], "yes" if valid else "no",
      (m.get("limited_by") or "-").replace(" ", "_")[:60], "-" if over is None else f"{over:.3f}")
EOF
}

# Prints: achieved_rps success_percent p99_ms ok
oha_run() { # rate
    "${GEN[@]}" oha -z "${SECONDS_PER_RUN}s" -q "$1" --latency-correction -c 50 --no-tui --output-format json \
        "http://127.0.0.1:$PORT/" 2>/dev/null > "$WORK/oha.json" || true
    python3 - "$1" "$WORK/oha.json" <<'EOF'
import json, sys
rate = float(sys.argv[1])
try:
    s = json.load(open(sys.argv[2]))
except Exception:
    print("nan", "nan", "nan", "no"); sys.exit()
rps = s["summary"]["requestsPerSec"]
ok = s["summary"]["successRate"] * 100
p99 = (s.get("latencyPercentiles") or {}).get("p99") or float("nan")
print(f"{rps:.0f}", f"{ok:.2f}", f"{p99 * 1e3:.2f}", "yes" if rps >= 0.99 * rate and ok >= 100 else "no")
EOF
}

CSV="$OUT/ceiling.csv"
echo "tool,rate,run,lateness_p99_ms,failed,sent,valid,limited_by,achieved_rps,success_percent,response_p99_ms,machine" > "$CSV"
echo "## lbsim load vs oha against nginx return 204 ($SECONDS_PER_RUN s per run, $RUNS runs)"
echo
echo "| offered rate | lbsim send lateness p99 (ms) | lbsim failed | lbsim valid | oha achieved (req/s) | oha success | oha response p99 (ms) | oha ok |"
echo "|---|---|---|---|---|---|---|---|"
LB_CEIL=0
OHA_CEIL=0
for R in $RATES; do
    LATE=(); FAIL=(); VALID=(); ORPS=(); OOK=(); OP99=(); OVALID=()
    lb_all=yes; oha_all=yes
    for run in $(seq "$RUNS"); do
        state=$(machine)
        read -r late failed sent valid limited _ < <(lbsim_run "$R" "http://127.0.0.1:$PORT" "$OUT/lbsim-$R-$run")
        echo "lbsim,$R,$run,$late,$failed,$sent,$valid,$limited,,,,\"$state\"" >> "$CSV"
        LATE+=("$late"); FAIL+=("$failed"); VALID+=("$valid")
        [ "$valid" = yes ] || lb_all=no
        [ "$limited" = "-" ] || echo "lbsim at $R req/s run $run: limited by ${limited//_/ }" >&2
        state=$(machine)
        read -r rps ok p99 okv < <(oha_run "$R")
        echo "oha,$R,$run,,,,$okv,,$rps,$ok,$p99,\"$state\"" >> "$CSV"
        ORPS+=("$rps"); OOK+=("$ok%"); OP99+=("$p99"); OVALID+=("$okv")
        [ "$okv" = yes ] || oha_all=no
        echo "  $R req/s run $run: lbsim p99 lateness $late ms, failed $failed, valid $valid; oha $rps req/s, $ok% ok [$state]" >&2
    done
    [ "$lb_all" = yes ] && [ "$R" -gt "$LB_CEIL" ] && LB_CEIL=$R
    [ "$oha_all" = yes ] && [ "$R" -gt "$OHA_CEIL" ] && OHA_CEIL=$R
    j() { local IFS=/; echo "$*" | sed 's#/# / #g'; }
    echo "| $R | $(j "${LATE[@]}") | $(j "${FAIL[@]}") | $(j "${VALID[@]}") | $(j "${ORPS[@]}") | $(j "${OOK[@]}") | $(j "${OP99[@]}") | $(j "${OVALID[@]}") |"
done
echo
state=$(machine)
WRK=$("${GEN[@]}" wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$PORT/" 2>/dev/null | awk '/Requests\/sec/ { printf "%.0f", $2 }')
echo "wrk,,,,,,,,$WRK,,,\"$state\"" >> "$CSV"
echo "wrk -t1 -c32 (closed loop): $WRK req/s [$state]"
echo "valid ceiling among the rates tried: lbsim load $LB_CEIL req/s, oha $OHA_CEIL req/s"
if [ "$OHA_CEIL" -gt 0 ]; then
    python3 -c "import sys; l, o = $LB_CEIL, $OHA_CEIL; print(f'ratio lbsim / oha: {l / o:.2f}', '(within 2x)' if 2 * l >= o else '(NOT within 2x)')"
fi

# lbsim backends' own ceiling: zero demand, lbsim load straight at it.
echo
echo "## lbsim backends (zero demand), driven by lbsim load"
echo
echo "| offered rate | send lateness p99 (ms) | failed | valid | backend overshoot p99 (ms) |"
echo "|---|---|---|---|---|"
scenario 1000 1 "$WORK/b.toml"
# With --realtime the backends run as nginx does: every thread SCHED_FIFO 20, above the sender.
"${TARGET[@]}" "$LBSIM" backends "$WORK/b.toml" --port-base 0 --time-limit 1h > "$WORK/backends.out" 2>&1 &
BACKENDS_PID=$!
for _ in $(seq 100); do grep -q '^ready:' "$WORK/backends.out" && break; sleep 0.1; done
BURL=$(awk '$1 == "b" { print $2 }' "$WORK/backends.out")
B_CEIL=0
for R in $RATES; do
    state=$(machine)
    read -r late failed sent valid limited over < <(lbsim_run "$R" "$BURL" "$OUT/backends-$R")
    echo "backends,$R,1,$late,$failed,$sent,$valid,$limited,,,$over,\"$state\"" >> "$CSV"
    echo "| $R | $late | $failed | $valid | $over |"
    [ "$valid" = yes ] && [ "$R" -gt "$B_CEIL" ] && B_CEIL=$R
done
echo
echo "lbsim backends valid ceiling among the rates tried: $B_CEIL req/s [$(machine)]"
echo "(rows in $CSV)"
