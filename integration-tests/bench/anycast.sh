#!/usr/bin/env bash
# Anycast benchmark (issue 9 item 7), in a throwaway sandbox:
#
#   integration-tests/bench/anycast.sh          # RUNS=20, CPU_SECONDS=60, SERVICES=100
#
# 1. Latency, for a BIRD and an FRR sidecar (BGP to a BIRD upstream, the
#    topology of integration-tests/anycast-lib.sh with one host, hA), RUNS
#    times each, timed by one route monitor in upstream:
#    - withdraw on exit: `kill -9` of dnsmasq, tied by `process` -> hA's
#      path gone upstream;
#    - withdraw by the checks: SIGSTOP of dnsmasq -> gone (dns check,
#      interval 1 s, interval_transition 0.2 s, fall 2, timeout 0.15 s);
#    - announce: SIGCONT -> hA's path back (rise 2).
# 2. netd's CPU with SERVICES anycast services in one `netd run` (one
#    namespace each, a socat listener, a tcp check every second): utime +
#    stime from /proc/PID/stat over CPU_SECONDS, once every service is
#    announced.
# 3. The same CPU figure for anycast-healthchecker (if installed: `pip
#    install anycast-healthchecker`), at its default interval (10 s) and at
#    1 s. Its latencies are given from its documented defaults.
# Prints one table.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../anycast-lib.sh
source "$ITEST_DIR/anycast-lib.sh"

RUNS=${RUNS:-20}
CPU_SECONDS=${CPU_SECONDS:-60}
SERVICES=${SERVICES:-100}
SPEAKERS=${SPEAKERS-bird frr}
need_tool jq socat bird dnsmasq
ANY_HOSTS=(A)
ANY_RESTART_DELAY=0.1
on_exit kill_pidfiles
private_etc

# stats: "min / median / max" of the numbers on stdin (one a line).
stats() {
  sort -n | awk '{v[NR] = $1} END {if (NR) printf "%.1f / %.1f / %.1f (n=%d)", v[1], v[int((NR + 1) / 2)], v[NR], NR; else printf "-"}'
}
us_ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f\n", (b - a) / 1000}'; }

# one_run NAME CMD...: CMD at t0; time until hA's v4 path is gone.
gone_after() {
  local mark t0 g
  mark=$(mon_lines)
  t0=$(now_us)
  "$@"
  g=$(mon_wait 5000 "$mark" A 4 gone) || return 1
  us_ms "$t0" "$g"
}
back_after() {
  local mark t0 b
  mark=$(mon_lines)
  t0=$(now_us)
  "$@"
  b=$(mon_wait 8000 "$mark" A 4 back) || return 1
  us_ms "$t0" "$b"
}

latency() { # SPEAKER: appends "speaker what ms" lines to $T/lat
  local sp=$1 i pid
  ANYCAST_MODE=bgp-$sp
  [[ $sp == frr ]] && need_tool vtysh
  step "latency, $sp sidecar"
  any_topology
  write_host A tied
  start_host A
  enslave_uplink A
  wait_for 60 "hA's path upstream" has_path A 4
  sleep 2
  for ((i = 1; i <= RUNS; i++)); do
    pid=$(dnsmasq_pid A)
    gone_after kill -9 "$pid" | sed "s/^/$sp exit /" >>"$T/lat" || note "run $i: exit not withdrawn"
    wait_for 10 "dnsmasq restarted" dnsmasq_new A "$pid"
    wait_for 10 "hA back" has_path A 4
    sleep 0.5
    pid=$(dnsmasq_pid A)
    # A random phase against the check schedule (interval 1 s).
    sleep "0.$((RANDOM % 10))"
    gone_after kill -STOP "$pid" | sed "s/^/$sp checks /" >>"$T/lat" || note "run $i: freeze not withdrawn"
    sleep 0.3
    back_after kill -CONT "$pid" | sed "s/^/$sp announce /" >>"$T/lat" || note "run $i: not re-announced"
    sleep 0.5
    note "run $i/$RUNS done"
  done
  # SIGTERM: netd withdraws, then stops the sidecar and dnsmasq.
  pid=$(cat "$ANY_PIDS/netd-hA")
  kill -TERM "$pid"
  wait_for 20 "netd in hA to stop" eval "! kill -0 $pid"
  kill -9 "$(cat "$ANY_PIDS/upstream-bird")" "$(cat "$ANY_PIDS/monitor")"
  hnetd A destroy --all >/dev/null 2>&1 || true
  for ns in upstream any-client hA; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf /run/frr/hA
  rm -rf /run/hA 2>/dev/null || true
}

cpu_config() { # N services, one namespace each, on one bridge
  local i
  printf '[bridge.br-any]\naddresses = ["10.77.0.1/16"]\n'
  for ((i = 0; i < $1; i++)); do
    cat <<EOF

[namespace.s$i]
loopback = ["203.0.$((i / 250)).$((i % 250 + 1))/32"]
[[namespace.s$i.interface]]
name = "eth0"
bridge = "br-any"
addresses = ["10.77.$((i / 250 + 1)).$((i % 250 + 1))/16"]
[[namespace.s$i.process]]
name = "app"
command = "socat"
args = ["TCP-LISTEN:80,fork,reuseaddr", "SYSTEM:true"]
[anycast.s$i]
namespace = "s$i"
prefixes = ["203.0.$((i / 250)).$((i % 250 + 1))/32"]
[[anycast.s$i.check]]
kind = "tcp"
port = 80
interval = 1
timeout = 0.5
EOF
  done
}

cpu() {
  local pid t0 t1 announced
  step "CPU of netd run with $SERVICES anycast services, tcp checks every second"
  cpu_config "$SERVICES" >"$T/cpu.toml"
  NETD_LOG=warn bg_pid netd-cpu "$NETD" run -c "$T/cpu.toml"
  pid=$(cat "$ANY_PIDS/netd-cpu")
  DAEMON_PID=$pid
  wait_ready 120
  count() { "$NETD" status --json | jq '[.daemon.anycast[]? | select(.announced)] | length'; }
  all_announced() { (($(count) >= SERVICES)); }
  wait_for 60 "all $SERVICES services announced" all_announced
  sleep 3
  t0=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")
  sleep "$CPU_SECONDS"
  t1=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")
  announced=$(count)
  awk -v a="$t0" -v b="$t1" -v s="$CPU_SECONDS" -v hz="$(getconf CLK_TCK)" -v n="$announced" \
    'BEGIN {printf "%.2f %.3f %d\n", (b - a) / hz, (b - a) / hz / s * 100, n}' >"$T/cpu"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
}

# ahc_cpu INTERVAL: CPU seconds (its own and its check commands') of
# anycast-healthchecker (PyPI) with SERVICES services, each a
# `socat` TCP connect every INTERVAL s (its checks are commands), over
# CPU_SECONDS. It writes BIRD's prefix list; reconfiguring BIRD is left out
# (/bin/true), as nothing changes in steady state.
ahc_cpu() {
  local iv=$1 w=$T/ahc-$1 i pid t0 t1
  mkdir -p "$w/d"
  printf 'define ACAST_PS_ADVERTISE =\n    [\n        10.189.200.255/32\n    ];\n' >"$w/prefixes.conf"
  printf '[daemon]\npidfile = %s/pid\nipv4 = true\nipv6 = false\nbird_conf = %s/prefixes.conf\n' "$w" "$w" >"$w/ahc.conf"
  printf 'bird_reconfigure_cmd = /bin/true\nloglevel = info\nlog_file = %s/log\nstderr_file = %s/err\n' "$w" "$w" >>"$w/ahc.conf"
  for ((i = 0; i < SERVICES; i++)); do
    printf '[s%d]\ncheck_cmd = socat -u OPEN:/dev/null TCP:203.0.200.%d:80\ncheck_interval = %s\n' "$i" "$((i + 1))" "$iv"
    printf 'check_timeout = 1\ncheck_disabled = false\nip_prefix = 203.0.200.%d/32\n' "$((i + 1))"
  done >"$w/d/services.conf"
  bg_pid "ahc-$iv" anycast-healthchecker -f "$w/ahc.conf" -d "$w/d"
  pid=$(cat "$ANY_PIDS/ahc-$iv")
  sleep $((iv + 5))
  t0=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")
  sleep "$CPU_SECONDS"
  t1=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")
  kill "$pid"
  awk -v a="$t0" -v b="$t1" -v s="$CPU_SECONDS" -v hz="$(getconf CLK_TCK)" -v n="$(grep -c '203\.0\.200\.' "$w/prefixes.conf")" \
    'BEGIN {printf "%.2f s = %.1f %% of a core, %d announced", (b - a) / hz, (b - a) / hz / s * 100, n}'
}
ahc() {
  if ! command -v anycast-healthchecker >/dev/null 2>&1; then
    echo "not installed (pip install anycast-healthchecker)" >"$T/ahc10"
    cp "$T/ahc10" "$T/ahc1"
    return
  fi
  step "CPU of anycast-healthchecker with $SERVICES services (interval 10 s, its default, and 1 s)"
  for ((i = 0; i < SERVICES; i++)); do ip addr add "203.0.200.$((i + 1))/32" dev lo; done
  bg_pid ahc-listener socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:true
  ahc_cpu 10 >"$T/ahc10"
  ahc_cpu 1 >"$T/ahc1"
}

: >"$T/lat"
for sp in $SPEAKERS; do latency "$sp"; done
cpu
ahc

row() { awk -v s="$1" -v w="$2" '$1 == s && $2 == w {print $3}' "$T/lat" | stats; }
read -r cpu_s cpu_pct cpu_n <"$T/cpu"
{
  echo
  echo "| anycast ($RUNS runs; ms, min / median / max) | netd + BIRD 2 sidecar | netd + FRR 8 sidecar | anycast-healthchecker 0.9.10 (latency: its documented defaults; CPU: measured) |"
  echo "|---|---|---|---|"
  echo "| withdraw on exit (kill -9 of the tied process -> path gone upstream) | $(row bird exit) | $(row frr exit) | no exit signal: waits for the checks |"
  echo "| withdraw by the checks (SIGSTOP -> path gone) | $(row bird checks) | $(row frr checks) | interval 10 s x fall 2: 10-20 s + birdc configure |"
  echo "| announce (SIGCONT -> path back, rise 2) | $(row bird announce) | $(row frr announce) | interval 10 s x rise 2: 10-20 s + birdc configure |"
  echo "| CPU with $SERVICES services, tcp checks every second, over $CPU_SECONDS s (children included) | netd: ${cpu_s} s = ${cpu_pct} % of a core, $cpu_n announced | | every 10 s (default): $(cat "$T/ahc10"); every 1 s: $(cat "$T/ahc1") |"
} | tee "$T/table.md"
cp "$T/table.md" "${ANYCAST_BENCH_OUT:-/tmp/anycast-bench.md}" 2>/dev/null || true
