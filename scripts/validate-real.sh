#!/usr/bin/env bash
# Validates lbsim against real balancers on this machine (loopback only): HAProxy (HTTP and
# `mode tcp`), nginx and Caddy from Debian's packages (HAProxy 2.6.12, nginx 1.22.1, Caddy
# 2.6.2 on Debian 12), in front of `lbsim backends`, loaded by `lbsim load` with the
# scenario's own request stream, compared with `lbsim run` on the same stream.
#
#   scripts/validate-real.sh                 # the whole validation (about 50 minutes)
#   REPLICATIONS=2 scripts/validate-real.sh  # a quicker pass with wider intervals
#   ONLY=haproxy-leastconn scripts/validate-real.sh
#   ONLY='caddy|weighted' scripts/validate-real.sh
#
# Environment: REQUESTS (requests per replication, default 6000), REPLICATIONS (4: measured
# passes, each on the stream `lbsim run` simulates as that replication), OUT (output/validate-real), PORT_BASE (19001: the
# backends), LB_PORT (18080: the balancer), ONLY (run only the configurations whose name
# matches this extended regular expression), TOLERANCE (5: % for mean and p90), BIN
# (target/release/lbsim, built first unless given), REALTIME_BALANCER (yes as root: the
# balancer runs under SCHED_FIFO priority 10, as `--realtime` runs lbsim's backends and
# sender, so that other work on the machine does not add its CPU waits to every response;
# `no`: normal scheduling).
#
# Each configuration names its scenario (scenarios/real/*.toml, all with the same seed) and
# the simulated strategy (its label, with parameters) that models the balancer as set up.
#
# Each HTTP configuration sends one request per backend connection (HAProxy `option
# http-server-close`, nginx's HTTP/1.0 upstreams), as the simulator's servers see requests.
# The `haproxy-tcp-*` configurations are HAProxy in `mode tcp`, an L4 balancer: it chooses a
# server once per client connection and passes the bytes through. Their scenario
# (scenarios/real/pinned.toml) has `[clients]` with `balance = "connection"`: `lbsim load`
# holds the clients' connections as it says (six clients, one HTTP/2 connection each, h2c
# through to the backends), and the script also checks the backends' shares of the measured
# requests, in decreasing order, against the simulated ones: |measured − simulated| ≤ 3
# binomial standard errors, sqrt(p (1 − p) / n) (with REPLICATIONS=1 only: see below).
# Caddy is told `keepalive off` towards the backends for the same reason.
# Configurations lbsim claims to model must land within TOLERANCE of the simulation for the
# mean and p90, or within the 95% interval of the difference (measured − expected, paired
# replication by replication by `lbsim compare`), whichever is wider (the summary says
# which); `nginx-least-conn-nozone` (two workers, each with its own counts, shares not
# measured) is reported without a target. `nginx-4-workers` (no zone) names each request's
# worker in an `X-Worker: $pid` response header, which `lbsim load` records
# (measurement.json `instances`): the script takes the workers' shares and runs from it,
# writes them into a copy of scenarios/real/nginx-workers.toml and compares with that model
# (nginx's access log, $pid per request, is kept as a cross-check).
# The `haproxy-*maxconn*` configurations put `maxconn` on HAProxy's servers: the requests
# beyond it wait in HAProxy's queue, simulated with `max_connections` and
# `[balancer_queue]`.
# Not part of CI: minutes long and timing-sensitive.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-6000}
REPLICATIONS=${REPLICATIONS:-4}
OUT=${OUT:-output/validate-real}
PORT_BASE=${PORT_BASE:-19001}
LB_PORT=${LB_PORT:-18080}
ONLY=${ONLY:-}
TOLERANCE=${TOLERANCE:-5}
BIN=${BIN:-}
RUN=$OUT/run
REALTIME_BALANCER=${REALTIME_BALANCER:-$([ "$(id -u)" = 0 ] && echo yes || echo no)}
RT=()
if [ "$REALTIME_BALANCER" = yes ]; then RT=(chrt -f 10); fi

# name | balancer | simulated strategy (label) | algorithm line | target applies | scenario
CONFIGS=(
    "haproxy-roundrobin|haproxy|round-robin|balance roundrobin|yes|loopback"
    "haproxy-leastconn|haproxy|weighted-least-connections|balance leastconn|yes|loopback"
    "haproxy-random2|haproxy|p2c|balance random(2)|yes|loopback"
    "haproxy-weighted-roundrobin|haproxy|weighted-round-robin(offset=500;variant=\"haproxy\")|balance roundrobin|yes|weighted"
    "haproxy-leastconn-heavy-tails|haproxy|weighted-least-connections|balance leastconn|yes|heavy-tails"
    "nginx-round-robin|nginx|round-robin||yes|loopback"
    "nginx-least-conn|nginx|least-connections|least_conn;|yes|loopback"
    "nginx-random-two|nginx|random-two-least-conn|random two least_conn;|yes|loopback"
    "nginx-least-conn-nozone|nginx|least-connections|least_conn;|no|loopback"
    "nginx-4-workers|nginx|least-connections|least_conn;|yes|nginx-workers"
    "caddy-least-conn|caddy|least-connections(variant=\"caddy\")|least_conn|yes|caddy"
    "caddy-random-choose-2|caddy|p2c(variant=\"caddy-2.6\")|random_choose 2|yes|caddy"
    "caddy-round-robin|caddy|round-robin(variant=\"caddy\")|round_robin|yes|caddy"
    "haproxy-tcp-roundrobin|haproxy-tcp|round-robin|balance roundrobin|yes|pinned"
    "haproxy-tcp-leastconn|haproxy-tcp|weighted-least-connections|balance leastconn|yes|pinned"
)

install_balancers() {
    command -v haproxy >/dev/null && command -v nginx >/dev/null && command -v caddy >/dev/null && return
    if [ "$(id -u)" != 0 ]; then
        echo "haproxy, nginx and caddy are needed: apt-get install haproxy nginx caddy (as root)" >&2
        exit 1
    fi
    # Keep the packages' services from starting on install (they would take ports 80 and
    # 5000-ish); the script runs its own instances.
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        policy=/usr/sbin/policy-rc.d
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy nginx caddy >/dev/null
    if [ -n "$policy" ]; then rm -f "$policy"; fi
}

servers=()
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

wait_port() { # port seconds
    for _ in $(seq 1 $(($2 * 10))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1 after $2 s" >&2
    return 1
}

haproxy_config() { # algorithm scenario [mode: http (default) or tcp]
    local mode=${3:-http}
    cat <<EOF
global
    maxconn 4096
    nbthread 1
defaults
    mode $mode
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    retries 0
EOF
    if [ "$mode" = http ]; then echo "    option http-server-close"; fi
    cat <<EOF
frontend fe
    bind 127.0.0.1:$LB_PORT
    default_backend be
backend be
    $1
EOF
    # Equal weights of 100 rather than 1: random(2) draws on the consistent-hash ring, and
    # 16 ring points per server (weight 1) would share the draws unevenly.
    # The weighted scenario gives its own weights (2, 2, 1, 1).
    local i=0
    for s in "${servers[@]}"; do
        local w=100
        if [ "$2" = weighted ]; then w=${weights[$i]}; fi
        echo "    server $s 127.0.0.1:$((PORT_BASE + i)) weight $w"
        i=$((i + 1))
    done
}

caddy_config() { # policy
    printf '{\n    admin off\n    auto_https off\n}\nhttp://127.0.0.1:%s {\n    reverse_proxy {\n' "$LB_PORT"
    local i=0
    for _ in "${servers[@]}"; do
        echo "        to 127.0.0.1:$((PORT_BASE + i))"
        i=$((i + 1))
    done
    printf '        lb_policy %s\n        transport http {\n            keepalive off\n        }\n    }\n}\n' "$1"
}

nginx_config() { # algorithm zone(yes|no) workers access-log(file or empty)
    cat <<EOF
worker_processes $3;
daemon off;
pid $ABS/run/nginx.pid;
error_log $ABS/run/nginx-error.log warn;
events { worker_connections 4096; }
http {
    log_format worker '\$pid \$connection \$arg_id';
    add_header X-Worker \$pid always;
    access_log ${4:-off}${4:+ worker};
    client_body_temp_path $ABS/run/nginx-body;
    proxy_temp_path $ABS/run/nginx-proxy;
    fastcgi_temp_path $ABS/run/nginx-fastcgi;
    uwsgi_temp_path $ABS/run/nginx-uwsgi;
    scgi_temp_path $ABS/run/nginx-scgi;
    upstream be {
EOF
    if [ "$2" = yes ]; then echo "        zone be 64k;"; fi
    if [ -n "$1" ]; then echo "        $1"; fi
    local i=0
    for s in "${servers[@]}"; do
        echo "        server 127.0.0.1:$((PORT_BASE + i));"
        i=$((i + 1))
    done
    cat <<EOF
    }
    server {
        listen 127.0.0.1:$LB_PORT;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
        location / {
            proxy_pass http://be;
            proxy_http_version 1.0;
            proxy_next_upstream off;
        }
    }
}
EOF
}

# Field of a CSV row of comparison.csv: figure column(1-based)
field() { awk -F, -v f="$1" -v c="$2" '$1 == f { print $c }' "$3"; }
pct() { awk -v x="$1" 'BEGIN { if (x == "") print "—"; else printf "%+.2f%%", x * 100 }'; }
ms() { awk -v x="$1" 'BEGIN { if (x == "") print "—"; else printf "%.2f", x }'; }

install_balancers
echo "haproxy: $(haproxy -v | head -1)"
echo "nginx:   $(nginx -v 2>&1)"
echo "caddy:   $(caddy version)"
if [ -z "$BIN" ]; then
    cargo build --release --quiet
    BIN=target/release/lbsim
fi
mkdir -p "$OUT" "$RUN"
ABS=$(cd "$OUT" && pwd) # nginx wants absolute paths
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; balancer under SCHED_FIFO: $REALTIME_BALANCER"

simulate() { # scenario file, output directory
    echo "== simulation: $BIN run $1 --requests $REQUESTS --replications $REPLICATIONS"
    "$BIN" run "$1" --requests "$REQUESTS" --replications "$REPLICATIONS" --out "$2" --no-charts --quiet
}

# The backends of one scenario (they emulate its pool: speeds, workers).
backends=
start_backends() { # scenario name [per-request log]
    if [ -n "$backends" ]; then
        kill "$backends"
        wait "$backends" 2>/dev/null || true
    fi
    local log=()
    if [ -n "${2:-}" ]; then log=(--log "$2"); fi
    "$BIN" backends "scenarios/real/$1.toml" --port-base "$PORT_BASE" --realtime --time-limit 2h "${log[@]}" \
        >"$RUN/backends-$1.out" 2>"$RUN/backends-$1.err" &
    backends=$!
    pids+=("$backends")
    for _ in $(seq 1 300); do grep -q '^ready:' "$RUN/backends-$1.out" && break; sleep 0.1; done
    grep '^ready:' "$RUN/backends-$1.out"
    mapfile -t servers < <(awk '$1 != "ready:" { print $1 }' "$RUN/backends-$1.out")
}
weights=(2 2 1 1)

# nginx-4-workers: the workers' shares of the measured requests and their mean run (in
# request order), as `lbsim load` recorded them from the X-Worker header (measurement.json
# `instances`), written into a copy of the scenario. Runs drawn by shares are seen to last
# run_length / (1 − Σ share²), so run_length = seen × (1 − Σ share²).
worker_model() { # measurement.json, scenario copy to write
    local spec wcount wshares wlen wseen
    spec=$(awk '
        /"instances"/ { on = 1 }
        on && /"share":/ { gsub(/[ ,]/, "", $2); s[m++] = $2 }
        on && /"mean_run":/ { gsub(/[ ,]/, "", $2); seen = $2 }
        END {
            q = 0; out = ""
            for (i = 0; i < m; i++) { q += s[i] * s[i]; out = out (i ? ", " : "") sprintf("%.4f", s[i]) }
            len = seen * (1 - q); if (len < 1) len = 1
            printf "%d|%s|%.4f|%.3f\n", m, out, len, seen
        }' FS=: "$1")
    IFS='|' read -r wcount wshares wlen wseen <<<"$spec"
    echo "nginx workers (X-Worker, lbsim load): $wcount took shares [$wshares] of the measured requests; runs of $wseen seen (run_length $wlen)"
    sed -e "s/^count = 4\$/count = $wcount/" -e "s/^shares = .*/shares = [$wshares]/" \
        -e "s/^run_length = .*/run_length = $wlen/" scenarios/real/nginx-workers.toml >"$2"
}

# The same from nginx's access log ($pid per request), as a cross-check of the header.
worker_log() { # log
    awk '$3 != "" { n++; c[$1]++ }
        END {
            m = 0; for (p in c) { s[m++] = c[p] / n }
            for (i = 0; i < m; i++) for (j = i + 1; j < m; j++) if (s[j] > s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
            out = ""; for (i = 0; i < m; i++) out = out (i ? ", " : "") sprintf("%.4f", s[i])
            printf "nginx workers (access log, calibration and every pass): %d took shares [%s]\n", m, out
        }' "$1"
}

# The backends' shares of the measured requests, simulated (the strategy's rows of
# servers.csv) and measured, and whether they agree within 3 binomial standard errors. The
# backends are identical, so which one takes which clients' connections depends on the
# balancer's state (the calibration pass's connections move HAProxy's rotation on): the
# shares are compared in decreasing order, rank by rank.
shares() { # simulated servers.csv, measured servers.csv, strategy label
    awk -F, -v label="$3" '
        function sort(a, n,    i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j] > a[j - 1]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
        FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; file++; next }
        file == 1 && $col["strategy"] == label { sim[++ks] = $col["requests"]; ns += $col["requests"] }
        file == 2 { meas[++km] = $col["requests"]; nm += $col["requests"] }
        END {
            sort(sim, ks); sort(meas, km); bad = 0
            printf "%-6s %12s %12s %10s %6s\n", "rank", "sim share", "meas share", "3 SE", "z"
            for (i = 1; i <= km; i++) {
                p = sim[i] / ns; q = meas[i] / nm; se = sqrt(p * (1 - p) / nm)
                z = (se > 0) ? (q - p) / se : 0
                if (z > 3 || z < -3) bad++
                printf "%-6d %12.4f %12.4f %10.4f %+6.2f\n", i, p, q, 3 * se, z
            }
            print (bad ? "shares: FAIL (" bad " rank(s) beyond 3 SE)" : "shares: pass (every rank within 3 SE)")
        }' "$1" "$2"
}

summary=$OUT/summary.txt
# One line of the summary: expected (simulated + overhead) and measured mean and p90, their
# deviation and the 95% interval of the difference (± relative half-width; p = paired), the
# tolerance applied to each (the wider of TOLERANCE and the interval), the p99 deviation,
# the largest per-pass lateness p99 and whether every pass was valid.
summary_line() { # name, strategy, dir, check
    local cc=$3/comparison.csv m=$3/measurement.json
    ci() { awk -v x="$(field "$1" 9 "$cc")" -v k="$(field "$1" 10 "$cc")" 'BEGIN { if (x == "") print "—"; else printf "±%.2f%%%s", x * 100, (k == "paired" ? "p" : "u") }'; }
    tol() { awk -v x="$(field "$1" 7 "$cc")" 'BEGIN { if (x == "") print "—"; else printf "%.1f%%", x * 100 }'; }
    printf '%-30s %-52s %9s %9s %8s %9s %9s %9s %8s %9s %7s %8s %8s %-5s %s\n' "$1" "$2" \
        "$(ms "$(field mean 4 "$cc")")" "$(ms "$(field mean 5 "$cc")")" "$(pct "$(field mean 6 "$cc")")" "$(ci mean)" \
        "$(ms "$(field p90 4 "$cc")")" "$(ms "$(field p90 5 "$cc")")" "$(pct "$(field p90 6 "$cc")")" "$(ci p90)" \
        "$(tol mean)/$(tol p90)" "$(pct "$(field p99 6 "$cc")")" \
        "$(awk '/"lateness_p99_ms":/ { gsub(/[ ,]/, "", $2); if ($2 > x) x = $2 } END { printf "%.2f", x }' FS=: "$m")" \
        "$(grep -q '"valid": true' "$m" && echo yes || echo NO)" "$4" >>"$summary"
}
printf '%-30s %-52s %9s %9s %8s %9s %9s %9s %8s %9s %7s %8s %8s %-5s %s\n' configuration "simulated strategy" \
    "exp mean" "meas mean" dev "95% CI" "exp p90" "meas p90" dev "95% CI" "tol m/p90" "p99 dev" "late p99" valid \
    check >"$summary"
failed=0
current=
for c in "${CONFIGS[@]}"; do
    IFS='|' read -r name kind strategy algo shared scenario <<<"$c"
    if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then continue; fi
    SCENARIO=scenarios/real/$scenario.toml
    sim=$OUT/sim-$scenario
    if [ "$scenario" = nginx-workers ]; then sim=$OUT/$name/sim; fi
    if [ ! -e "$sim/summary.csv" ]; then simulate "$SCENARIO" "$sim"; fi
    if [ "$scenario" != "$current" ]; then
        start_backends "$scenario"
        current=$scenario
    fi
    dir=$OUT/$name
    mkdir -p "$dir"
    access=
    if [ "$kind" = haproxy ] || [ "$kind" = haproxy-tcp ]; then
        mode=http
        if [ "$kind" = haproxy-tcp ]; then mode=tcp; fi
        haproxy_config "$algo" "$scenario" "$mode" >"$dir/haproxy.cfg"
        "${RT[@]}" haproxy -f "$dir/haproxy.cfg" -db >"$RUN/$name.log" 2>&1 &
    elif [ "$kind" = caddy ]; then
        caddy_config "$algo" >"$dir/Caddyfile"
        HOME=$ABS/run XDG_DATA_HOME=$ABS/run XDG_CONFIG_HOME=$ABS/run \
            "${RT[@]}" caddy run --config "$dir/Caddyfile" --adapter caddyfile >"$RUN/$name.log" 2>&1 &
    else
        zone=no workers=2
        if [ "$name" = nginx-4-workers ]; then
            workers=4 access=$ABS/run/$name-access.log
            rm -f "$access"
        elif [ "$shared" = yes ]; then
            zone=yes
        fi
        nginx_config "$algo" "$zone" "$workers" "$access" >"$dir/nginx.conf"
        "${RT[@]}" nginx -p "$ABS/run" -c "$ABS/$name/nginx.conf" -e "$ABS/run/nginx-error.log" >"$RUN/$name.log" 2>&1 &
    fi
    lb=$!
    pids+=("$lb")
    wait_port "$LB_PORT" 10
    echo "== $name ($strategy), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    cut -d' ' -f1-3 /proc/loadavg >"$dir/loadavg-before"
    "$BIN" load "$SCENARIO" --requests "$REQUESTS" --replications "$REPLICATIONS" \
        --target "http://127.0.0.1:$LB_PORT" --label "$name" --out "$dir" --no-charts --quiet --realtime
    cut -d' ' -f1-3 /proc/loadavg >"$dir/loadavg-after"
    kill "$lb"
    wait "$lb" 2>/dev/null || true
    if [ -n "$access" ]; then
        worker_model "$dir/measurement.json" "$dir/nginx-workers.toml" | tee "$dir/workers.txt"
        worker_log "$access" | tee -a "$dir/workers.txt"
        rm -rf "$sim"
        simulate "$dir/nginx-workers.toml" "$sim"
    fi
    checks=()
    if [ "$shared" = yes ]; then checks=(--check "mean=$TOLERANCE%" --check "p90=$TOLERANCE%"); fi
    ok=pass
    "$BIN" compare "$sim" "$dir" --strategy "$strategy" "${checks[@]}" | tee "$dir/comparison.txt" || ok=FAIL
    "$BIN" compare "$sim" "$dir" --strategy "$strategy" "${checks[@]}" --csv >"$dir/comparison.csv" || true
    if [ "$shared" != yes ]; then ok="(no target)"; fi
    # The ranked shares are a check of one pass: each pass opens its clients' connections
    # anew where HAProxy's rotation stands, so over several passes the pinned backends
    # differ from pass to pass, and the pooled shares are shown, not checked.
    if [ "$kind" = haproxy-tcp ]; then
        shares "$sim/servers.csv" "$dir/servers.csv" "$strategy" | tee "$dir/shares.txt"
        if [ "$REPLICATIONS" = 1 ] && grep -q '^shares: FAIL' "$dir/shares.txt"; then ok=FAIL; fi
    fi
    if [ "$ok" = FAIL ]; then failed=$((failed + 1)); fi
    summary_line "$name" "$strategy" "$dir" "$ok"
done
# ---- HAProxy `maxconn` and its queue ------------------------------------------------------
# The same backends behind HAProxy with `server … maxconn N` and `timeout queue`: requests
# beyond N at a server wait in HAProxy's backend queue, and a server whose slot frees takes
# the oldest (HAProxy 2.6 `src/queue.c`: `process_srv_queue`, `pendconn_process_next_strm`).
# Simulated by the scenario with `max_connections = N` on its servers and
# `[balancer_queue]`: with single-worker servers and exponential service
# (scenarios/real/loopback.toml), `maxconn 1` makes an M/M/4 queue.
#
# The handover: HAProxy frees a server's slot when it closes the server connection, after
# forwarding the response, and the request it hands the slot to then connects and sends
# itself; meanwhile the server idles (docs/failures.md, `[balancer_queue] handover`). It is
# measured here, in the same run: the backends log every request (`--log`), HAProxy logs
# each request's queue time (`%Tw`, ms), and for every request that waited at least 2 ms
# (so surely for a slot) the handover is the time from the response that freed its slot
# (the backend's `responded_s` of the request `maxconn` places earlier at that server: a
# single worker answers in order) to its arrival there (`arrival_s`). Their mean goes into
# the simulated scenario as `handover` (HANDOVER=value overrides it, e.g. "0s" for none).
# name | simulated strategy | algorithm line | maxconn
MAXCONN=(
    "haproxy-maxconn|round-robin|balance roundrobin|1"
    "haproxy-leastconn-maxconn2|weighted-least-connections|balance leastconn|2"
)
# The mean handover of a maxconn run, from HAProxy's log and the backends' log (see above):
# prints `mean_us sd_us count`.
measure_handover() { # haproxy log, backends log, requests per pass, maxconn
    awk -v N="$3" -v M="$4" '
        function pass_of(k, id) { if (id < last[k] - N / 2) np[k]++; last[k] = id; return np[k] + 0 }
        FNR == 1 { file++ }
        # HAProxy: "lbsim-req URI Tw" of every request; the calibration (d=0) is skipped.
        file == 1 && $1 == "lbsim-req" {
            id = ""; d = ""
            n = split(substr($2, index($2, "?") + 1), kv, "&")
            for (i = 1; i <= n; i++) {
                split(kv[i], x, "=")
                if (x[1] == "id") id = x[2]
                if (x[1] == "d") d = x[2]
            }
            if (id == "" || d + 0 == 0) next
            tw[pass_of("h", id + 0), id + 0] = $3 + 0
            next
        }
        # Backends: server,id,demand_s,arrival_s,start_s,end_s,responded_s,status, in the
        # order of their responses (at a single-worker server, of their arrivals).
        file == 2 && FNR > 1 {
            split($0, f, ",")
            if (f[8] != 200 || f[3] + 0 == 0) next
            q = pass_of("b", f[2] + 0)
            s = f[1]
            if (!(s in seen) || pass[s] != q) { seen[s] = 0; pass[s] = q }
            k = seen[s]++
            # The response M places earlier at this server freed the slot.
            if (k >= M && tw[q, f[2] + 0] >= 2) {
                g = f[4] - resp[s, (k - M) % M]; n_ += 1; sum += g; sq += g * g
            }
            resp[s, k % M] = f[7]
        }
        END {
            if (n_ == 0) { print "nan nan 0"; exit }
            m = sum / n_; v = sq / n_ - m * m; if (v < 0) v = 0
            printf "%.1f %.1f %d\n", m * 1e6, sqrt(v) * 1e6, n_
        }' "$1" "$2"
}
for c in "${MAXCONN[@]}"; do
    IFS='|' read -r name strategy algo maxconn <<<"$c"
    if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then continue; fi
    dir=$OUT/$name
    mkdir -p "$dir"
    # Backends with their per-request log, for this configuration alone.
    rm -f "$RUN/backends-$name.csv"
    start_backends loopback "$RUN/backends-$name.csv"
    current=loopback-log
    awk -v n="$maxconn" '{ print } /^\[\[servers\]\]/ { print "max_connections = " n }' scenarios/real/loopback.toml \
        >"$dir/scenario.toml"
    printf '\n[balancer_queue]\ntimeout = "60s"\n' >>"$dir/scenario.toml"
    haproxy_config "$algo" loopback | sed -e "s/ weight 100\$/ weight 100 maxconn $maxconn/" \
        -e 's/^    timeout server 60s$/    timeout server 60s\n    timeout queue 60s/' \
        -e 's/^    nbthread 1$/    nbthread 1\n    log stdout format raw local0/' \
        -e 's/^    retries 0$/    retries 0\n    log global\n    log-format "lbsim-req %HU %Tw"/' >"$dir/haproxy.cfg"
    "${RT[@]}" haproxy -f "$dir/haproxy.cfg" -db >"$RUN/$name.log" 2>&1 &
    lb=$!
    pids+=("$lb")
    wait_port "$LB_PORT" 10
    echo "== $name ($strategy, max_connections = $maxconn, [balancer_queue]), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    "$BIN" load "$dir/scenario.toml" --requests "$REQUESTS" --replications "$REPLICATIONS" \
        --target "http://127.0.0.1:$LB_PORT" --label "$strategy" --out "$dir" --no-charts --quiet --realtime
    kill "$lb"
    wait "$lb" 2>/dev/null || true
    read -r ho_us ho_sd ho_n <<<"$(measure_handover "$RUN/$name.log" "$RUN/backends-$name.csv" "$REQUESTS" "$maxconn")"
    echo "handover measured: mean ${ho_us} us (sd ${ho_sd} us) over ${ho_n} requests that waited ≥ 2 ms" \
        | tee "$dir/handover.txt"
    handover=${HANDOVER:-${ho_us}us}
    if [ "$ho_n" = 0 ] && [ -z "${HANDOVER:-}" ]; then handover=0s; fi
    echo "simulated with handover = \"$handover\"" | tee -a "$dir/handover.txt"
    sed -i "s/^timeout = \"60s\"\$/timeout = \"60s\"\nhandover = \"$handover\"/" "$dir/scenario.toml"
    "$BIN" run "$dir/scenario.toml" --requests "$REQUESTS" --replications "$REPLICATIONS" --strategies "$strategy" \
        --out "$dir/sim" --no-charts --quiet
    ok=pass
    "$BIN" compare "$dir/sim" "$dir" --check "mean=$TOLERANCE%" --check "p90=$TOLERANCE%" \
        | tee "$dir/comparison.txt" || ok=FAIL
    "$BIN" compare "$dir/sim" "$dir" --check "mean=$TOLERANCE%" --check "p90=$TOLERANCE%" --csv \
        >"$dir/comparison.csv" || true
    if [ "$ok" = FAIL ]; then failed=$((failed + 1)); fi
    summary_line "$name" "$strategy+queue" "$dir" "$ok"
done
# ---- end of the HAProxy maxconn block ------------------------------------------------------

if [ -n "$backends" ]; then
    kill "$backends"
    wait "$backends" 2>/dev/null || true
fi
echo "== backends"
cat "$RUN"/backends-*.err
echo "== measured vs simulated, ms, $REPLICATIONS replications of $REQUESTS requests (exp = simulated + calibration"
echo "   overhead; dev = (meas - exp) / exp; 95% CI of the difference, p paired / u unpaired; late p99 = send lateness)"
cat "$summary"
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
[ "$failed" = 0 ] || {
    echo "$failed configuration(s) outside ±$TOLERANCE% (or the wider 95% interval) for mean or p90" >&2
    exit 1
}
