# shellcheck shell=bash
# Variables set here are used by the tests that source this file.
# shellcheck disable=SC2034
# Helpers for the integration tests. A test is a bash script in tests/ that
# starts with
#
#   source "$(dirname "$0")/../lib.sh"
#
# and exits 0 when it passes. Started directly (not by ./run), it re-runs
# itself inside a throwaway sandbox (scripts/sandbox.sh), so a test can never
# change the host's network: everything below runs in the sandbox's own
# network, mount and PID namespaces, with a private tmpfs on /run.
#
# Exit codes of a test: 0 pass, 77 skipped (a tool is missing, outside CI),
# anything else fail.

set -Eeuo pipefail

ITEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$ITEST_DIR/.." && pwd)
EXAMPLES=$ROOT/examples
TEST_NAME=$(basename "$0" .sh)

in_sandbox() {
  [[ -r /run/.netd-sandbox && "$(cat /run/.netd-sandbox)" == "$(readlink /proc/self/ns/net)" ]]
}
if ! in_sandbox; then
  exec "$ROOT/scripts/sandbox.sh" bash "$(realpath "$0")" "$@"
fi

NETD=${NETD:-${CARGO_TARGET_DIR:-$ROOT/target}/release/netd}
NETNS_DIR=/run/netns
STATE_DIR=/run/netd
# Upper bound for one netd command, so a hang names the command that hung.
NETD_CMD_TIMEOUT=${NETD_CMD_TIMEOUT:-120}
# NETD_PROTO in netd/src/model/mod.rs.
NETD_PROTO=200

mkdir -p "${TMPDIR:-/run/tmp}"
T=$(mktemp -d "${TMPDIR:-/run/tmp}/$TEST_NAME.XXXXXX")

is_ci() { [[ -n ${CI:-} && ${CI} != false && ${CI} != 0 ]]; }

# ---------------------------------------------------------------- reporting

step() { printf '\n== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }

fail() {
  local i where=''
  # Call chain, innermost first: lib.sh:321 (assert_addr) < bridge_ping.sh:17
  for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
    where+="${where:+ < }${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
    [[ ${BASH_SOURCE[i]##*/} == lib.sh ]] || break
    where+=" (${FUNCNAME[i]})"
  done
  printf 'FAIL (%s): %s\n' "$where" "$*" >&2
  exit 1
}

_err_reported=0
_on_err() {
  local rc=$?
  [[ $_err_reported == 1 ]] && return
  _err_reported=1
  # shellcheck disable=SC2016 # backquotes are literal
  printf 'error: `%s` exited %s at %s:%s\n' "$BASH_COMMAND" "$rc" \
    "${BASH_SOURCE[1]##*/}" "${BASH_LINENO[0]}" >&2
}
trap _on_err ERR

_cleanups=()
# on_exit CMD...: run CMD (a string, eval'd) when the test ends, pass or fail.
on_exit() { _cleanups+=("$*"); }

_finish() {
  local rc=$? i p
  set +eE
  trap - ERR
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" >/dev/null 2>&1; done
  for p in $(jobs -p); do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  # Leave the sandbox as we found it; the sandbox's death is the safety net.
  [[ -x $NETD ]] && timeout 30 "$NETD" destroy --all >/dev/null 2>&1
  case $rc in
    0) printf '\nPASS: %s\n' "$TEST_NAME" >&2 ;;
    77) printf '\nSKIP: %s\n' "$TEST_NAME" >&2 ;;
    *) printf '\nFAIL: %s (exit %s)\n' "$TEST_NAME" "$rc" >&2 ;;
  esac
  exit "$rc"
}
trap _finish EXIT

# need_tool TOOL...: fail (in CI) or skip (elsewhere) when a tool is missing.
need_tool() {
  local missing=() t
  for t; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if is_ci; then
    fail "missing tool(s): ${missing[*]} (scripts/install-deps.sh installs them)"
  fi
  printf 'SKIP: missing tool(s): %s (scripts/install-deps.sh installs them)\n' "${missing[*]}" >&2
  exit 77
}

# ---------------------------------------------------------------- asserts

assert_eq() { # GOT WANT [WHAT]
  [[ $1 == "$2" ]] || fail "${3:-value}: got '$1', want '$2'"
}

assert_contains() { # HAYSTACK NEEDLE [WHAT]
  [[ $1 == *"$2"* ]] || fail "${3:-output} does not contain '$2'; it is:
$1"
}

assert_not_contains() { # HAYSTACK NEEDLE [WHAT]
  [[ $1 != *"$2"* ]] || fail "${3:-output} contains '$2'; it is:
$1"
}

# assert_json JSON FILTER [WHAT]: jq -e FILTER must be true on JSON.
assert_json() {
  jq -e "$2" >/dev/null 2>&1 <<<"$1" || fail "${3:-json}: \`$2\` is not true for:
$(jq . <<<"$1" 2>/dev/null | head -c 3000 || printf '%s' "$1" | head -c 3000)"
}

# jqr JSON FILTER: jq -r FILTER on JSON.
jqr() { jq -r "$2" <<<"$1"; }

# ---------------------------------------------------------------- netd

# run_netd ARGS...: run netd; sets OUT, ERR (text) and RC; logs both.
OUT='' ERR='' RC=0
run_netd() {
  printf '$ netd %s\n' "$*" >&2
  RC=0
  timeout --kill-after=5 "$NETD_CMD_TIMEOUT" "$NETD" "$@" >"$T/out" 2>"$T/err" || RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
  _show "  | " "$T/out"
  _show "  ! " "$T/err"
  if [[ $RC == 124 || $RC == 137 ]]; then
    note "(netd $1 did not finish within ${NETD_CMD_TIMEOUT}s)"
  fi
  return 0
}

_show() { # PREFIX FILE: log at most 40 lines of FILE.
  local n
  n=$(wc -l <"$2")
  head -n 40 "$2" | sed "s/^/$1/" >&2
  ((n > 40)) && printf '%s... (%s more lines)\n' "$1" "$((n - 40))" >&2
  return 0
}

# netd_ok ARGS...: run netd, fail the test unless it exits 0.
netd_ok() {
  run_netd "$@"
  [[ $RC == 0 ]] || fail "netd $* exited $RC, want 0"
}

# netd_exit CODE ARGS...: run netd, fail unless it exits CODE (a regex like 1|2).
netd_exit() {
  local want=$1
  shift
  run_netd "$@"
  [[ $RC =~ ^($want)$ ]] || fail "netd $* exited $RC, want $want"
}

# Number of changes in netd's --json output (plan or apply) in OUT.
changes_count() { jqr "$OUT" '.changes | length'; }

# assert_converged CONFIG: apply and plan again report no change, in JSON and
# in text (STYLE.md: every test that applies re-applies).
assert_converged() {
  local cfg=$1
  netd_ok apply -c "$cfg" --json
  assert_json "$OUT" '(.changes | length) == 0' "re-apply --json of $cfg (want zero changes)"
  assert_json "$OUT" '((.errors // []) | length) == 0' "re-apply --json of $cfg (want no errors)"
  netd_ok apply -c "$cfg"
  assert_eq "$(trim "$OUT")" "no changes" "text re-apply of $cfg"
  netd_ok plan -c "$cfg"
  assert_eq "$(trim "$OUT")" "no changes" "plan after apply of $cfg"
  netd_ok plan -c "$cfg" --json
  assert_json "$OUT" '(.changes | length) == 0' "plan --json after apply of $cfg"
}

trim() { sed -e 's/[[:space:]]*$//' -e '/^$/d' <<<"$1"; }

# ---------------------------------------------------------------- kernel

# ns_exec NS CMD...: run CMD in namespace NS (tests only; netd never does this).
ns_exec() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# ipn NS ARGS...: `ip -j -d ARGS` in NS ("-" is the sandbox's host namespace).
# Route dumps add -N, so that protocols and tables are numbers.
ipn() {
  local ns=$1
  shift
  if [[ $ns == - ]]; then ip -j -d "$@"; else ip -n "$ns" -j -d "$@"; fi
}

# link_json NS DEV: the link as a JSON object, or fail.
link_json() {
  local j
  j=$(ipn "$1" link show dev "$2" 2>/dev/null) || fail "no link $2 in ${1/#-/host namespace}"
  jq -c '.[0]' <<<"$j"
}

link_exists() { ipn "$1" link show dev "$2" >/dev/null 2>&1; }

# global_addrs NS DEV: one "addr/prefix" a line.
global_addrs() {
  ipn "$1" addr show dev "$2" |
    jq -r '.[0].addr_info[]? | select(.scope == "global") | "\(.local)/\(.prefixlen)"'
}

assert_addr() { # NS DEV CIDR
  global_addrs "$1" "$2" | grep -qxF "$3" ||
    fail "address $3 missing on $1/$2 (has: $(global_addrs "$1" "$2" | tr '\n' ' '))"
}

# assert_route NS DST GATEWAY [DEV]: a route of netd's protocol in table main.
assert_route() {
  local ns=$1 dst=$2 gw=$3 dev=${4:-} fam=-4 j
  [[ $dst == *:* || $gw == *:* ]] && fam=-6
  j=$(ipn "$ns" -N "$fam" route show table main exact "$dst" | jq -c '.[0] // empty')
  [[ -n $j ]] || fail "route $dst missing in $ns: $(ip -n "$ns" "$fam" route | tr '\n' ';')"
  assert_json "$j" ".gateway == \"$gw\"" "route $dst in $ns: gateway"
  assert_proto_netd "$j" "route $dst in $ns"
  [[ -z $dev ]] || assert_json "$j" ".dev == \"$dev\"" "route $dst in $ns: device"
}

# The protocol of an owned route: 200, or a name that rt_protos gives 200.
assert_proto_netd() { # ROUTE_JSON WHAT
  local p
  p=$(jqr "$1" '.protocol | tostring')
  [[ $p == "$NETD_PROTO" ]] && return 0
  if cat /etc/iproute2/rt_protos /etc/iproute2/rt_protos.d/*.conf 2>/dev/null |
    awk -v p="$p" -v n="$NETD_PROTO" '$1 == n && $2 == p {found = 1} END {exit !found}'; then
    return 0
  fi
  fail "$2: protocol is '$p', want $NETD_PROTO"
}

# wait_dad NS...: wait up to 5 s until no IPv6 address in NS is tentative, so
# that v6 pings do not race duplicate address detection ("-" = host ns).
wait_dad() {
  local ns deadline=$((SECONDS + 5)) out
  for ns; do
    while :; do
      if [[ $ns == - ]]; then out=$(ip -6 addr show tentative); else out=$(ip -n "$ns" -6 addr show tentative); fi
      [[ -z $out ]] && break
      ((SECONDS < deadline)) || fail "IPv6 addresses in ${ns/#-/host} still tentative after 5 s: $out"
      sleep 0.1
    done
    if [[ $ns == - ]]; then out=$(ip -6 addr show dadfailed); else out=$(ip -n "$ns" -6 addr show dadfailed); fi
    [[ -z $out ]] || fail "duplicate address detection failed in ${ns/#-/host}: $out"
  done
}

# ns_ping NS ADDR: two pings, one second each at most.
ns_ping() {
  local out
  out=$(ns_exec "$1" ping -c 2 -W 1 -i 0.2 "$2" 2>&1) ||
    fail "ping $2 from $1 failed:
$out"
  note "ping $1 -> $2 ok"
}

ns_no_ping() { # NS ADDR: must NOT answer
  if ns_exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; then
    fail "ping $2 from $1 answered, want no answer"
  fi
  note "ping $1 -> $2 gets no answer, as it should"
}

# Namespace pins under /run/netns, one name a line.
netns_entries() {
  [[ -d $NETNS_DIR ]] || return 0
  find "$NETNS_DIR" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort
}
netns_count() { netns_entries | grep -c . || true; }

# Links in the sandbox's host namespace whose ifalias marks them as netd's.
netd_links() {
  ip -j link show | jq -r '.[] | select((.ifalias // "") | startswith("netd:")) | .ifname'
}

bridge_ports() { ip -j link show master "$1" | jq -r '.[].ifname' | sort; }

# Files netd keeps in its state directory, but the writer lock, which stays
# by design (removing it would let two writers lock different files).
state_files() {
  if [[ -d $STATE_DIR ]]; then find "$STATE_DIR" -type f ! -name lock | sort; fi
}

# The netns inode (net:[N]) a pinned namespace refers to.
netns_id() { ip netns exec "$1" readlink /proc/self/ns/net; }

# ---------------------------------------------------------------- examples/two-namespaces.toml

TWO_NS=$EXAMPLES/two-namespaces.toml

# host_end NS IFNAME: name of the host end of a namespace's veth, as netd
# status reports it (the bridge port whose ifalias names NS/IFNAME).
host_end() {
  ip -j link show | jq -r --arg want "$1/$2" \
    '.[] | select((.ifalias // "") | startswith("netd:") and endswith($want)) | .ifname' | head -n 1
}

# check_two_namespaces: the kernel holds exactly what two-namespaces.toml says.
check_two_namespaces() {
  local j ns web_host
  step "check kernel state of two-namespaces.toml from outside with ip -j"
  for ns in web db; do
    [[ -e $NETNS_DIR/$ns ]] || fail "$NETNS_DIR/$ns is missing"
    [[ $(stat -f -c %T "$NETNS_DIR/$ns") == nsfs ]] || fail "$NETNS_DIR/$ns is not a pinned namespace"
  done

  j=$(link_json - br-demo)
  assert_json "$j" '.linkinfo.info_kind == "bridge"' "br-demo kind"
  assert_json "$j" '.flags | index("UP")' "br-demo up"
  assert_json "$j" '(.ifalias // "") | startswith("netd:")' "br-demo ifalias"
  assert_addr - br-demo 10.88.0.1/24
  assert_addr - br-demo fd88::1/64

  web_host=$(host_end web eth0)
  [[ $web_host =~ ^nd[0-9a-f]{10}$ ]] || fail "host end of web/eth0 is '$web_host', want nd + 10 hex digits"
  assert_eq "$(bridge_ports br-demo | tr '\n' ' ')" "$(printf '%s\n' "$web_host" veth-db | sort | tr '\n' ' ')" "ports of br-demo"
  for h in "$web_host" veth-db; do
    j=$(link_json - "$h")
    assert_json "$j" '.linkinfo.info_kind == "veth"' "$h kind"
    assert_json "$j" '.flags | index("UP")' "$h up"
    assert_json "$j" '(.ifalias // "") | startswith("netd:")' "$h ifalias"
    assert_json "$j" '.address | test("^[0-9a-f][26ae]:")' "$h MAC is locally administered"
  done

  for ns in web db; do
    j=$(link_json "$ns" eth0)
    assert_json "$j" '.linkinfo.info_kind == "veth"' "$ns/eth0 kind"
    assert_json "$j" '.flags | index("UP")' "$ns/eth0 up"
    assert_json "$j" '.operstate == "UP"' "$ns/eth0 operstate"
    assert_json "$j" '(.ifalias // "") | startswith("netd:")' "$ns/eth0 ifalias"
    assert_json "$(link_json "$ns" lo)" '.flags | index("UP")' "$ns/lo up"
  done
  j=$(link_json web eth0)
  assert_json "$j" '.mtu == 1450' "web/eth0 mtu (config: 1450)"
  assert_json "$j" '.address | test("^[0-9a-f][26ae]:")' "web/eth0 derived MAC is locally administered"
  j=$(link_json db eth0)
  assert_json "$j" '.mtu == 1500' "db/eth0 mtu (default)"
  assert_json "$j" '.address == "02:00:00:88:00:03"' "db/eth0 MAC (config)"

  assert_addr web eth0 10.88.0.2/24
  assert_addr web eth0 fd88::2/64
  assert_addr db eth0 10.88.0.3/24
  assert_addr db eth0 fd88::3/64
  for ns in web db; do
    assert_route "$ns" 0.0.0.0/0 10.88.0.1
    assert_route "$ns" ::/0 fd88::1
  done
  note "links, MACs, MTUs, addresses and routes as configured"
}

ping_two_namespaces() {
  step "ping v4 and v6 between the namespaces and to the bridge"
  wait_dad - web db
  ns_ping web 10.88.0.3
  ns_ping web fd88::3
  ns_ping db 10.88.0.2
  ns_ping db fd88::2
  for ns in web db; do
    ns_ping "$ns" 10.88.0.1
    ns_ping "$ns" fd88::1
  done
}

[[ -x $NETD ]] || fail "netd binary not found at $NETD (build it with: cargo build --release)"

# ---------------------------------------------------------------- clients

# outside_client NS [V6]: a namespace NS "outside" the host, behind a veth
# uplink of the sandbox host: host 192.0.2.1/24 (and 2001:db8:1::1/64 with V6
# set), client .100, default routes via the host. Turns on forwarding in the
# sandbox, as a host that publishes ports has it.
outside_client() {
  local ns=$1 v6=${2:-}
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.ipv6.conf.all.forwarding=1
  ip netns add "$ns"
  ip link add uplink type veth peer name eth0 netns "$ns"
  ip addr add 192.0.2.1/24 dev uplink
  ip link set uplink up
  ip -n "$ns" addr add 192.0.2.100/24 dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" route add default via 192.0.2.1
  if [[ -n $v6 ]]; then
    ip addr add 2001:db8:1::1/64 dev uplink nodad
    ip -n "$ns" addr add 2001:db8:1::100/64 dev eth0 nodad
    ip -n "$ns" -6 route add default via 2001:db8:1::1
  fi
}

# ---------------------------------------------------------------- the daemon

# start_daemon CONFIG [ARGS...]: start `netd run` in the background, its log
# in $T/daemon.log, and wait (up to 60 s) until it reports ready. Sets
# DAEMON_PID; the daemon is killed when the test ends.
DAEMON_PID=''
start_daemon() {
  local cfg=$1
  shift
  printf '$ netd run -c %s %s &\n' "$cfg" "$*" >&2
  NETD_LOG=${NETD_LOG:-info} "$NETD" run -c "$cfg" "$@" >>"$T/daemon.log" 2>&1 &
  DAEMON_PID=$!
  on_exit "kill -9 $DAEMON_PID 2>/dev/null || true"
  wait_ready 60
}

# wait_ready SECONDS: until the daemon answers status with ready = true.
wait_ready() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    kill -0 "$DAEMON_PID" 2>/dev/null || { _show "  daemon| " "$T/daemon.log"; fail "netd run exited early"; }
    "$NETD" status --json 2>/dev/null | jq -e '.daemon.ready' >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  _show "  daemon| " "$T/daemon.log"
  fail "netd run not ready within $1 s"
}

# stop_daemon [SIGNAL]: signal the daemon (TERM by default) and wait for it;
# sets DAEMON_RC.
DAEMON_RC=0
stop_daemon() {
  [[ -n $DAEMON_PID ]] || return 0
  kill -"${1:-TERM}" "$DAEMON_PID" 2>/dev/null || true
  DAEMON_RC=0
  wait "$DAEMON_PID" || DAEMON_RC=$?
}

# now_ms: milliseconds since the epoch (no process started).
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# wait_for SECONDS WHAT CMD...: until CMD succeeds, or fail the test.
wait_for() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$(($(now_ms) + secs * 1000))
  until "$@" >/dev/null 2>&1; do
    (($(now_ms) < deadline)) || fail "no $what after $secs s"
    sleep 0.02
  done
}

# time_until MS CMD...: run CMD every 5 ms until it succeeds, at most MS
# milliseconds; prints the time it took in ms; fails the call on timeout.
time_until() {
  local limit=$1 start
  shift
  start=$(now_ms)
  while ! "$@" >/dev/null 2>&1; do
    (($(now_ms) - start > limit)) && return 1
    sleep 0.005
  done
  echo $(($(now_ms) - start))
}

# ---------------------------------------------------------------- /etc

# private_etc: /etc becomes an overlay whose changes land in the sandbox's
# tmpfs, so a test can write /etc/netns/NAME/* and /etc/resolv.conf without
# touching the host's files. /etc/resolv.conf is made a plain file (on the
# host it may be a symlink into the host's /run, which the sandbox hides).
private_etc() {
  local d
  d=$(mktemp -d "${TMPDIR:-/run/tmp}/etc.XXXXXX")
  mkdir "$d/upper" "$d/work"
  mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/upper,workdir=$d/work" /etc
  rm -f /etc/resolv.conf
  echo "nameserver 192.0.2.1 # host" >/etc/resolv.conf
  mkdir -p /etc/netns
}
