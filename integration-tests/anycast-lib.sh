# shellcheck shell=bash
# shellcheck disable=SC2034 # variables are used by the scripts that source this
# The multi-host anycast topology (issue 9 item 5), for tests, the demo and
# the benchmark. Source it after lib.sh (or after setting NETD and T).
#
#   any-client --u-client-- upstream (BIRD, AS 65000, ECMP) --d-X/u-X-- hX   X in A B C
#
# Each host namespace hX runs its own `netd run` (own netns_dir and
# state_dir under /run/hX). Its config makes a bridge br-up, a service
# namespace svc whose eth0 is on br-up, the anycast /32 and /128, a routing
# sidecar and dnsmasq. The test then enslaves hX's end of the uplink (u-X)
# to br-up, so svc is L2-adjacent to upstream and peers with it directly.
#
# Mode (ANYCAST_MODE): bgp-bird (default), bgp-frr, ospf-bird.
#
# Clock: one `ip -ts -o monitor route all-nsid` in upstream writes
# $T/monitor.log; every latency is measured against its gettimeofday stamps.

ANY4=203.0.113.53
ANY6=2001:db8:53::53
ANY_NAME=ns.example
ANY_ANSWER=192.0.2.53
ANYCAST_MODE=${ANYCAST_MODE:-bgp-bird}
ANY_HOSTS=(A B C)
# dnsmasq's restart delay after a crash: long enough that the checks see the
# outage (it outlasts one check interval), short enough to keep tests quick.
ANY_RESTART_DELAY=${ANY_RESTART_DELAY:-2.5}
ANY_MON=$T/monitor.log
ANY_PIDS=$T/anycast-pids
mkdir -p "$ANY_PIDS"

any_idx() { case $1 in A) echo 1 ;; B) echo 2 ;; C) echo 3 ;; *) echo 9 ;; esac; }
any_lc() { tr '[:upper:]' '[:lower:]' <<<"$1"; }
# Upstream side of host X's link, and svc's side.
up4() { echo "198.51.100.$((2 * $(any_idx "$1") - 2))"; }
svc4() { echo "198.51.100.$((2 * $(any_idx "$1") - 1))"; }
up6() { echo "2001:db8:0:$(any_idx "$1")::1"; }
svc6() { echo "2001:db8:0:$(any_idx "$1")::2"; }
# The upstream device towards host X.
down_dev() { echo "d-$(any_lc "$1")"; }
hdir() { echo "/run/h$1"; }

any_need_tools() {
  local tools=(ip bird birdc dnsmasq dig tcpdump nsenter)
  [[ $ANYCAST_MODE == *frr ]] && tools+=(vtysh /usr/lib/frr/zebra /usr/lib/frr/bgpd /usr/lib/frr/bfdd)
  need_tool "${tools[@]}"
}

# bg_pid NAME CMD...: start CMD in the background, its pid in $ANY_PIDS/NAME,
# output in $T/NAME.log; killed by pid file when the test ends.
bg_pid() {
  local name=$1
  shift
  "$@" >"$T/$name.log" 2>&1 &
  disown
  echo $! >"$ANY_PIDS/$name"
}
kill_pidfiles() {
  local f
  for f in "$ANY_PIDS"/*; do
    [[ -e $f ]] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  return 0
}

# ---------------------------------------------------------------- upstream

# upstream_bird_conf: BGP sessions to every host, or OSPF on the d-* links,
# with BFD (100 ms × 3) as netd's generated sidecar configs have it; the
# kernel protocol merges paths into one ECMP route.
upstream_bird_conf() {
  local X
  cat <<EOF
router id 198.51.100.254;
protocol device { }
protocol kernel k4 { merge paths on; ipv4 { import none; export all; }; }
protocol kernel k6 { merge paths on; ipv6 { import none; export all; }; }
EOF
  echo 'protocol bfd { interface "d-*" { interval 100 ms; multiplier 3; }; }'
  if [[ $ANYCAST_MODE == ospf-* ]]; then
    cat <<EOF
protocol ospf v2 o4 { ecmp on; merge external on; ipv4 { import all; export none; };
  area 0 { interface "d-*" { type ptp; hello 1; dead count 3; bfd on; }; }; }
protocol ospf v3 o6 { ecmp on; merge external on; ipv6 { import all; export none; };
  area 0 { interface "d-*" { type ptp; hello 1; dead count 3; bfd on; }; }; }
EOF
    return
  fi
  cat <<EOF
template bgp svc { local as 65000; bfd on; connect delay time 1; connect retry time 1;
  error wait time 1,2; error forget time 1; }
EOF
  for X in "${ANY_HOSTS[@]}"; do
    cat <<EOF
protocol bgp h${X}4 from svc { local $(up4 "$X"); neighbor $(svc4 "$X") as 65001;
  ipv4 { import all; export none; }; }
protocol bgp h${X}6 from svc { local $(up6 "$X"); neighbor $(svc6 "$X") as 65001;
  ipv6 { import all; export none; }; }
EOF
  done
}

# any_topology: upstream, any-client and the three host namespaces, their
# links, upstream's BIRD and the route monitor. No netd yet.
any_topology() {
  local X i dev
  ip netns add upstream
  ip netns add any-client
  for X in "${ANY_HOSTS[@]}"; do ip netns add "h$X"; done
  # nsids before any veth, so the kernel assigns none itself.
  for X in "${ANY_HOSTS[@]}"; do ip -n upstream netns set "h$X" "$(any_idx "$X")"; done
  ip netns exec upstream sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1
  bg_pid monitor ip -n upstream -ts -o monitor route all-nsid

  ip -n upstream link add u-client type veth peer name eth0 netns any-client
  ip -n upstream addr add 198.51.100.16/31 dev u-client
  ip -n upstream addr add 2001:db8:0:100::1/64 dev u-client nodad
  ip -n any-client addr add 198.51.100.17/31 dev eth0
  ip -n any-client addr add 2001:db8:0:100::2/64 dev eth0 nodad
  for i in upstream any-client; do ip -n "$i" link set lo up; done
  ip -n upstream link set u-client up
  ip -n any-client link set eth0 up
  ip -n any-client route add default via 198.51.100.16
  ip -n any-client -6 route add default via 2001:db8:0:100::1

  for X in "${ANY_HOSTS[@]}"; do
    dev=$(down_dev "$X")
    ip -n upstream link add "$dev" type veth peer name "u-$(any_lc "$X")" netns "h$X"
    ip -n upstream addr add "$(up4 "$X")/31" dev "$dev"
    ip -n upstream addr add "$(up6 "$X")/64" dev "$dev" nodad
    ip -n upstream link set "$dev" up
    ip -n "h$X" link set lo up
    ip -n "h$X" link set "u-$(any_lc "$X")" up
    mkdir -p "$(hdir "$X")"
  done
  upstream_bird_conf >"$T/upstream-bird.conf"
  bg_pid upstream-bird ip netns exec upstream bird -f -c "$T/upstream-bird.conf" -s /run/upstream-bird.ctl
}

# ---------------------------------------------------------------- routes at upstream

# upstream_devs FAMILY(4|6): the devices of the anycast route, sorted, one a line.
upstream_devs() {
  local dst=$ANY4
  [[ $1 == 6 ]] && dst=$ANY6
  ip -n upstream -j "-$1" route show exact "$dst" 2>/dev/null |
    jq -r '.[0] // {} | (.nexthops // [.]) | .[].dev // empty' | sort
}
# upstream_paths FAMILY: how many paths upstream has to the anycast prefix.
upstream_paths() { upstream_devs "$1" | grep -c . || true; }
has_path() { upstream_devs "$2" | grep -qx "$(down_dev "$1")"; }
lacks_path() { ! has_path "$@"; }
all_paths() { [[ $(upstream_paths 4) == 3 && $(upstream_paths 6) == 3 ]]; }

# ---------------------------------------------------------------- the clock

mon_lines() { wc -l <"$ANY_MON"; }
# mon_us STAMP: "[2026-12-03T13:38:56.206722]" as microseconds since the epoch.
mon_us() {
  local s=${1#[}
  s=${s%]}
  date -d "${s/T/ }" +%s%6N
}
# mon_event FROM_LINE HOST FAMILY gone|back: the first upstream event after
# line FROM_LINE where host's path is gone (or back), as "US LINE"; nothing
# when there is none yet.
mon_event() {
  local from=$1 dev dst=$ANY4 want=$4
  dev=$(down_dev "$2")
  [[ $3 == 6 ]] && dst=$ANY6
  tail -n "+$((from + 1))" "$ANY_MON" | awk -v dst="$dst" -v dev="dev $dev " -v want="$want" '
    index($0, "[nsid current]") == 0 { next }
    { line = $0; sub(/^\[[^]]*\] \[nsid current\]/, "", line) }
    line !~ ("^(Deleted )?" dst "( |/)") { next }
    { has = index(line " ", dev) > 0 && line !~ /^Deleted / }
    (want == "gone" && !has) || (want == "back" && has) { print $1; exit }'
}
# mon_wait MS FROM_LINE HOST FAMILY gone|back: wait up to MS for that event;
# prints its stamp in microseconds, or returns 1.
mon_wait() {
  local limit=$1 start stamp
  shift
  start=$(now_ms)
  while :; do
    stamp=$(mon_event "$@")
    [[ -n $stamp ]] && { mon_us "$stamp"; return 0; }
    (($(now_ms) - start > limit)) && return 1
    sleep 0.01
  done
}
# mon_changes FROM_LINE: upstream route events for the anycast prefixes since
# FROM_LINE (none means no path changed anywhere).
mon_changes() {
  tail -n "+$(($1 + 1))" "$ANY_MON" | grep -F '[nsid current]' |
    grep -E "\[nsid current\](Deleted )?($ANY4|$ANY6)( |/)" || true
}
now_us() { echo "${EPOCHREALTIME/./}"; }
ms_between() { echo $((($2 - $1) / 1000)); } # FROM_US TO_US, rounded down

# ---------------------------------------------------------------- the hosts

# host_config X [TIED]: host X's netd config. With TIED, [anycast.dns] names
# dnsmasq as its process (its exit withdraws at once). $ANY_DNSMASQ_TTL
# changes dnsmasq's arguments, so a reload recreates it with a new pid.
host_config() {
  local X=$1 tied=${2:-} d lo='' speaker=bird
  d=$(hdir "$X")
  [[ $ANYCAST_MODE == *-frr ]] && speaker=frr
  [[ $speaker == bird ]] && lo="loopback = [\"$ANY4/32\", \"$ANY6/128\"]"
  cat <<EOF
[daemon]
netns_dir = "$d/netns"
state_dir = "$d/netd"

[bridge.br-up]

[namespace.svc]
$lo
gateway = ["$(up4 "$X")", "$(up6 "$X")"]

[[namespace.svc.interface]]
name = "eth0"
bridge = "br-up"
addresses = ["$(svc4 "$X")/31", "$(svc6 "$X")/64"]

$(sidecar_processes "$X")

[[namespace.svc.process]]
name = "dnsmasq"
command = "dnsmasq"
args = ["--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
        "--interface=eth0", "--interface=lo", "--pid-file=$d/dnsmasq.pid",
        "--host-record=$ANY_NAME,$ANY_ANSWER", "--local-ttl=${ANY_DNSMASQ_TTL:-1}"]
restart_delay = $ANY_RESTART_DELAY
restart_delay_max = $ANY_RESTART_DELAY
stop_timeout = 1

[anycast.dns]
namespace = "svc"
prefixes = ["$ANY4/32", "$ANY6/128"]
speaker = "$speaker"
${tied:+process = \"dnsmasq\"}
EOF
  if [[ $ANYCAST_MODE == ospf-* ]]; then
    printf '\n[anycast.dns.ospf]\narea = 0\ninterfaces = ["eth0"]\n'
  else
    printf '\n[anycast.dns.bgp]\nlocal_as = 65001\nneighbor_as = 65000\n'
    printf 'neighbors = ["%s", "%s"]\n' "$(up4 "$X")" "$(up6 "$X")"
  fi
  cat <<EOF

[[anycast.dns.check]]
kind = "dns"
name = "$ANY_NAME"
answer = "$ANY_ANSWER"
interval = 1
interval_transition = 0.2
timeout = 0.15
rise = 2
fall = 2
EOF
}

# sidecar_processes X: the routing daemon(s) as netd processes, reading the
# config that `netd anycast config` wrote to $(hdir X)/sidecar.conf.
sidecar_processes() {
  local d daemon
  d=$(hdir "$1")
  if [[ $ANYCAST_MODE != *-frr ]]; then
    printf '[[namespace.svc.process]]\nname = "bird"\ncommand = "bird"\n'
    printf 'args = ["-f", "-c", "%s/sidecar.conf", "-s", "%s/bird.ctl"]\n' "$d" "$d"
    return
  fi
  # As the generated file's header says: bgpd starts once zebra listens (a
  # BFD registration sent before that is never sent again).
  for daemon in zebra bgpd bfdd; do
    local args="-N h$1 -f $d/sidecar.conf -P 0 --log stdout"
    printf '[[namespace.svc.process]]\nname = "%s"\n' "$daemon"
    if [[ $daemon == bgpd ]]; then
      printf 'command = "/bin/sh"\nargs = ["-c", "until [ -S /run/frr/h%s/zserv.api ]; do sleep 0.1; done; exec /usr/lib/frr/bgpd %s"]\n\n' "$1" "$args"
    else
      printf 'command = "/usr/lib/frr/%s"\nargs = [%s]\n\n' "$daemon" "$(sed 's/[^ ]*/"&"/g; s/ /, /g' <<<"$args")"
    fi
  done
}

# hnetd X ARGS...: netd inside host X's namespace, with X's directories.
hnetd() {
  local X=$1
  shift
  nsenter --net="/run/netns/h$X" -- "$NETD" --netns-dir "$(hdir "$X")/netns" \
    --state-dir "$(hdir "$X")/netd" "$@"
}

# write_host X [TIED]: host X's config and its sidecar's config.
write_host() {
  local X=$1 d kind=--bird proto=--bgp
  d=$(hdir "$X")
  host_config "$X" "${2:-}" >"$d/netd.toml"
  [[ $ANYCAST_MODE == *-frr ]] && kind=--frr
  [[ $ANYCAST_MODE == ospf-* ]] && proto=--ospf
  hnetd "$X" anycast config dns "$kind" "$proto" -c "$d/netd.toml" >"$d/sidecar.conf" ||
    fail "netd anycast config dns $kind $proto failed for host $X: $(cat "$d/sidecar.conf")"
  if [[ $ANYCAST_MODE == *-frr ]]; then
    mkdir -p "/run/frr/h$X"
    chown frr:frr "/run/frr/h$X"
  fi
}

# start_host X: `netd run` in host X (pid in $ANY_PIDS/netd-hX), until ready.
# nsenter enters only the network namespace: the pins under /run/hX/netns
# are then made in the sandbox's mount namespace and outlive a killed netd
# (`ip netns exec` would make them in a private one that dies with it).
start_host() {
  local X=$1 deadline=$((SECONDS + 60))
  NETD_LOG=${NETD_LOG:-info} bg_pid "netd-h$X" nsenter --net="/run/netns/h$X" -- \
    "$NETD" run -c "$(hdir "$X")/netd.toml"
  until hnetd "$X" status --json 2>/dev/null | jq -e '.daemon.ready' >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$ANY_PIDS/netd-h$X")" 2>/dev/null; then
      tail -n 40 "$T/netd-h$X.log" >&2
      fail "netd run in h$X exited"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$T/netd-h$X.log" >&2
      fail "netd run in h$X not ready in 60 s"
    fi
    sleep 0.1
  done
}

# enslave_uplink X: hX's end of the uplink becomes a port of netd's br-up.
enslave_uplink() {
  wait_for 30 "bridge br-up in h$1" ip -n "h$1" link show br-up
  ip -n "h$1" link set "u-$(any_lc "$1")" master br-up
}
uplink_master() { ip -n "h$1" -j link show "u-$(any_lc "$1")" | jq -r '.[0].master // "none"'; }

# dnsmasq_pid X: the pid dnsmasq in host X wrote at its start.
dnsmasq_pid() { cat "$(hdir "$1")/dnsmasq.pid" 2>/dev/null; }
# dnsmasq_new X [OLD_PID]: host X runs a dnsmasq, other than OLD_PID.
dnsmasq_new() {
  local p
  p=$(dnsmasq_pid "$1") || return 1
  [[ -n $p && $p != "${2:-}" ]] && kill -0 "$p" 2>/dev/null
}

# anycast_state X: host X's `.daemon.anycast.dns` from `netd status --json`.
anycast_state() {
  hnetd "$1" status --json -c "$(hdir "$1")/netd.toml" | jq -c '.daemon.anycast.dns // empty'
}
announced() { [[ $(anycast_state "$1" | jq -r '.announced') == true ]]; }

# any_up [TIED]: topology, every host's netd, uplinks enslaved; waits for
# all six paths (three per family) at upstream.
any_up() {
  local X
  any_topology
  for X in "${ANY_HOSTS[@]}"; do
    write_host "$X" "${1:-}"
    start_host "$X"
    enslave_uplink "$X"
  done
  wait_for 90 "three paths upstream for $ANY4 and $ANY6" all_paths
}

# client_dig [ADDR]: one query from the client to the anycast address.
client_dig() {
  ip netns exec any-client dig +short +time=1 +tries=1 "@${1:-$ANY4}" "$ANY_NAME" A 2>/dev/null |
    grep -qxF "$ANY_ANSWER"
}

# dig_loop NAME SECONDS: queries from the client, one after the other, for
# SECONDS (bounded: each waits 1 s at most); "START_US ok|fail" lines in
# $T/NAME.digs.
dig_loop() {
  local out=$T/$1.digs end=$(($(now_ms) + $2 * 1000)) t
  : >"$out"
  while (($(now_ms) < end)); do
    t=$(now_us)
    if client_dig; then echo "$t ok"; else echo "$t fail"; fi >>"$out"
  done
}
