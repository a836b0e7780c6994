#!/usr/bin/env bash
# Daemon benchmark: `netd run` with N namespaces (default 1000), against the
# do-nothing "holder" container per namespace that it replaces.
#
#   integration-tests/bench/daemon.sh [N]
#
# In a throwaway sandbox (scripts/sandbox.sh), with the config of
# integration-tests/gen-config.sh N --publish:
# - idle cost: VmRSS/VmHWM (and PSS) of netd run once ready, and its CPU time
#   (utime + stime from /proc/PID/stat) over 60 s (IDLE_SECONDS);
# - drift repair latency over 100 random deletions (REPAIRS) of a
#   namespace's address, its default route or its host veth end: from the
#   kernel's deletion event to the re-add, both as `ip -ts monitor` stamps
#   them;
# - table restore latency: 10 times `nft flush ruleset`, then the time until
#   `nft list table inet netd` succeeds again;
# - the holders: one `podman run -d --network ns:/run/netns/nsI ... sleep inf`
#   for 20 namespaces (the container's root is a static busybox, so no image
#   is pulled); summed RSS and PSS of conmon and the container processes,
#   scaled to N.
# Prints one table.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000}
[[ $N =~ ^[0-9]+$ && $N -ge 20 && $N -le 57535 ]] || {
  echo "usage: $0 [N] (20..57535)" >&2
  exit 2
}
NETD=${NETD:-${CARGO_TARGET_DIR:-$ROOT/target}/release/netd}
IDLE_SECONDS=${IDLE_SECONDS:-60}
REPAIRS=${REPAIRS:-100}
HOLDERS=20

if [[ ${2:-} != --in-sandbox ]]; then
  for tool in ip nft jq podman busybox awk; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "daemon: missing $tool (run scripts/install-deps.sh)" >&2
      exit 1
    }
  done
  [[ -x $NETD ]] || (cd "$ROOT" && cargo build --release) >&2
  "$NETD" run --help >/dev/null 2>&1 || {
    echo "daemon: $NETD has no \`netd run\`" >&2
    exit 1
  }
  exec env NETD="$NETD" IDLE_SECONDS="$IDLE_SECONDS" REPAIRS="$REPAIRS" \
    "$ROOT/scripts/sandbox.sh" "$(realpath "$0")" "$N" --in-sandbox
fi
[[ -r /run/.netd-sandbox && "$(cat /run/.netd-sandbox)" == "$(readlink /proc/self/ns/net)" ]] || {
  echo "daemon: not inside the sandbox" >&2
  exit 1
}

W=$(mktemp -d /run/tmp/daemon-bench.XXXXXX)
now_us() { echo "${EPOCHREALTIME/./}"; }
log() { printf '== %s\n' "$*" >&2; }
# stats: "min median max" of the numbers on stdin (one a line).
stats() { sort -n | awk '{v[NR] = $1} END {if (NR) printf "%.1f / %.1f / %.1f", v[1], v[int((NR + 1) / 2)], v[NR]; else printf "-"}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
pss_kb() { awk '$1 == "Pss:" {print $2}' "/proc/$1/smaps_rollup"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

cfg=$W/bench.toml
"$ROOT/integration-tests/gen-config.sh" "$N" --publish >"$cfg"
log "netd run with $N namespaces"
t0=$(now_us)
"$NETD" run -c "$cfg" >"$W/netd.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
until "$NETD" status --json 2>/dev/null | jq -e '.daemon.ready == true' >/dev/null; do
  kill -0 "$pid" 2>/dev/null || {
    tail -n 20 "$W/netd.log" >&2
    exit 1
  }
  sleep 0.05
done
ready_ms=$((($(now_us) - t0) / 1000))
log "ready after $ready_ms ms; settling 5 s"
sleep 5

log "idle for $IDLE_SECONDS s"
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks "$pid")
sleep "$IDLE_SECONDS"
c1=$(cpu_ticks "$pid")
rss=$(status_kb "$pid" VmRSS) hwm=$(status_kb "$pid" VmHWM) pss=$(pss_kb "$pid")
cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')
cpu_pct=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.2f", 100 * t / hz / s}')

# stamp_s LINE: the seconds of day of an `ip -ts monitor` line
# ([2026-12-03T09:45:12.123456]...).
stamp_s() { sed -n 's/^\[[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)\].*/\1 \2 \3/p' | awk '{printf "%.6f\n", $1 * 3600 + $2 * 60 + $3}'; }

# repair KIND NS: delete one thing and print the ms from its deletion event
# to the re-add of the namespace's default route, which comes back last.
repair() {
  local kind=$1 ns=$2 i=${2#ns} addr gone back host deadline
  addr="10.88.$((i / 250)).$((i % 250 + 2))"
  : >"$W/mon.ns" >"$W/mon.host"
  ip -n "$ns" -o -ts monitor address route >"$W/mon.ns" 2>&1 &
  local m1=$! m2=
  if [[ $kind == veth ]]; then
    ip -o -ts monitor link >"$W/mon.host" 2>&1 &
    m2=$!
  fi
  sleep 0.1
  case $kind in
    addr) ip -n "$ns" addr del "$addr/16" dev eth0 ;;
    route) ip -n "$ns" route del default ;;
    veth)
      host=$(ip -j link show | jq -r --arg a "netd:veth:$ns/eth0" '.[] | select(.ifalias == $a) | .ifname')
      ip link del "$host"
      ;;
  esac
  deadline=$((SECONDS + 5))
  # What comes back last is the default route: deleting the address makes
  # the kernel drop the route through it too (without an event), and a new
  # veth needs its address before the route.
  until grep -q '^\[[^]]*\] *default via' "$W/mon.ns"; do
    ((SECONDS < deadline)) || break
    sleep 0.005
  done
  kill $m1 $m2 2>/dev/null
  wait $m1 $m2 2>/dev/null || true
  if [[ $kind == veth ]]; then
    gone=$(grep -m1 "^\[[^]]*\] *Deleted.*$host" "$W/mon.host" | stamp_s)
  else
    gone=$(grep -m1 '^\[[^]]*\] *Deleted' "$W/mon.ns" | stamp_s)
  fi
  back=$(grep -m1 '^\[[^]]*\] *default via' "$W/mon.ns" | stamp_s)
  [[ $kind != addr ]] || grep -q "^\[[^]]*\] *[0-9]*: eth0 *inet $addr/" "$W/mon.ns" || back=''
  if [[ -z $gone || -z $back ]]; then
    echo "daemon: $kind in $ns not repaired within 5 s" >&2
    return 0
  fi
  awk -v a="$gone" -v b="$back" 'BEGIN {printf "%.2f\n", (b - a) * 1000}'
}

log "drift repair: $REPAIRS random deletions"
RANDOM=42
kinds=(addr route addr route veth)
for ((r = 1; r <= REPAIRS; r++)); do
  kind=${kinds[RANDOM % ${#kinds[@]}]}
  ns=ns$((RANDOM % N + 1))
  ms=$(repair "$kind" "$ns")
  [[ -n $ms ]] && echo "$kind $ms" >>"$W/repairs"
  sleep 0.2
done
repaired=$(grep -c . "$W/repairs" || true)

log "table restore: 10 x nft flush ruleset"
for ((r = 1; r <= 10; r++)); do
  t0=$(now_us)
  nft flush ruleset
  until nft list table inet netd >/dev/null 2>&1; do sleep 0.002; done
  echo "$((($(now_us) - t0) / 1000))" >>"$W/restores"
  sleep 1
done

log "holders: $HOLDERS podman containers running sleep"
P=$W/podman
mkdir -p "$P/net" "$P/rootfs/bin"
cp "$(command -v busybox)" "$P/rootfs/bin/busybox"
pod() {
  podman --root "$P/storage" --runroot "$P/runroot" --tmpdir "$P/tmp" \
    --cgroup-manager cgroupfs --events-backend file --network-config-dir "$P/net" "$@"
}
for ((h = 1; h <= HOLDERS; h++)); do
  pod run -d --name "holder$h" --network "ns:/run/netns/ns$h" --rootfs "$P/rootfs" \
    /bin/busybox sleep 2147483647 >/dev/null
done
sleep 2
pids=$(pgrep -x conmon || true)
for ((h = 1; h <= HOLDERS; h++)); do pids+=" $(pod inspect -f '{{.State.Pid}}' "holder$h")"; done
h_rss=0 h_pss=0 nproc=0
for p in $pids; do
  h_rss=$((h_rss + $(status_kb "$p" VmRSS))) h_pss=$((h_pss + $(pss_kb "$p"))) nproc=$((nproc + 1))
done
pod rm -f -a -t 0 >/dev/null

awk -v n="$N" -v h="$HOLDERS" -v ready="$ready_ms" -v rss="$rss" -v hwm="$hwm" -v pss="$pss" \
  -v cs="$cpu_s" -v cp="$cpu_pct" -v idle="$IDLE_SECONDS" -v hr="$h_rss" -v hp="$h_pss" -v np="$nproc" \
  -v rep="$(awk '{print $2}' "$W/repairs" | stats)" -v rn="$repaired" -v rq="$REPAIRS" \
  -v ra="$(awk '$1 == "addr" {print $2}' "$W/repairs" | stats)" \
  -v rr="$(awk '$1 == "route" {print $2}' "$W/repairs" | stats)" \
  -v rv="$(awk '$1 == "veth" {print $2}' "$W/repairs" | stats)" \
  -v rs="$(stats <"$W/restores")" 'BEGIN {
  printf "\n| N = %d | netd run | %d holder containers (estimate scaled from %d) |\n|---|---|---|\n", n, n, h
  printf "| ready after start | %d ms | - |\n", ready
  printf "| idle RSS / peak (VmHWM) / PSS | %.1f / %.1f / %.1f MB | RSS %.1f MB, PSS %.1f MB (%.0f / %.0f kB a namespace; %d processes for %d) |\n", rss / 1024, hwm / 1024, pss / 1024, hr / h * n / 1024, hp / h * n / 1024, hr / h, hp / h, np, h
  printf "| idle CPU over %d s | %s s (%s %%) | - |\n", idle, cs, cp
  printf "| drift repair, event to re-add, min / median / max | %s ms (%d of %d repaired) | - |\n", rep, rn, rq
  printf "| ... address deleted | %s ms | - |\n| ... default route deleted | %s ms | - |\n| ... host veth end deleted (until the default route is back) | %s ms | - |\n", ra, rr, rv
  printf "| table inet netd back after nft flush ruleset, min / median / max (10 times) | %s ms | - |\n", rs
}'
