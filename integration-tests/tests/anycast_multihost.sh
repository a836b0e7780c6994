#!/usr/bin/env bash
# Health-checked anycast across three hosts (issue 9 item 5). An upstream
# router (BIRD, ECMP) learns 203.0.113.53/32 and 2001:db8:53::53/128 from
# three hosts hA hB hC, each running its own `netd run` with a service
# namespace, a routing sidecar and dnsmasq (integration-tests/anycast-lib.sh).
# On hA it asserts, timing every change with one route monitor in upstream:
# - a new dnsmasq pid while healthy (a reload that changes its arguments)
#   moves no route;
# - the service stopped (dnsmasq killed, restarted by netd 2.5 s later): the
#   checks withdraw hA's path, and re-announce it after `rise` passes;
# - tied by `process = "dnsmasq"`: its exit withdraws at once; a frozen
#   dnsmasq (SIGSTOP) is withdrawn through the checks;
# - the client's queries keep being answered by hB and hC: only those sent
#   before the path was gone may fail;
# - `kill -9` of netd leaves the paths announced, and a new `netd run`
#   takes over without moving a route.
# Variant by ANYCAST_MODE: bgp-bird (default), bgp-frr, ospf-bird.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../anycast-lib.sh
source "$ITEST_DIR/anycast-lib.sh"
need_tool jq
any_need_tools
on_exit kill_pidfiles
[[ $ANYCAST_MODE == *-frr ]] && private_etc

# Bounds in ms. A failure waits for the next check (interval 1 s), then
# fall 2 at interval_transition 0.2 s with a 0.15 s timeout: the path goes
# within 450 ms of the first failing probe over BGP. OSPF adds BIRD's 1 s
# tick; FRR's bgpd adds its fixed 50–60 ms hold.
DETECT_MS=450
EXIT_MS=50
case $ANYCAST_MODE in
  ospf-*) DETECT_MS=1500 EXIT_MS=1100 ;;
  *-frr) DETECT_MS=520 EXIT_MS=150 ;;
esac
# From the failure itself: up to one interval until the first failing probe,
# plus 100 ms for scheduling on a loaded machine.
TOTAL_MS=$((1100 + DETECT_MS))

step "three hosts, mode $ANYCAST_MODE"
any_up
note "upstream v4: $(upstream_devs 4 | tr '\n' ' ') v6: $(upstream_devs 6 | tr '\n' ' ')"
for X in "${ANY_HOSTS[@]}"; do
  assert_eq "$(uplink_master "$X")" br-up "h$X's uplink port"
  wait_for 20 "host $X announced in netd status" announced "$X"
done
wait_dad any-client
for i in 1 2 3 4 5 6; do client_dig || fail "query $i to $ANY4 from the client failed"; done
# FRR: dnsmasq gives no answer for the AnyIP (not an lo address) v6 prefix
# here; the v6 path itself is checked upstream like the others.
[[ $ANYCAST_MODE == *-frr ]] || client_dig "$ANY6" || fail "query to $ANY6 from the client failed"
note "client queries over v4 and v6 answered"

# Every probe of netd's dns check in hA's svc, and every answer, timed.
bg_pid probes nsenter --net="$(hdir A)/netns/svc" tcpdump -i lo -n -tt -l "udp and port 53"
sleep 1

# first_probe_after US [passing]: the time (us) of hA's first check query
# after US; with "passing", of the query whose answer was the first after US
# (the last query before that answer: a frozen dnsmasq answers the query in
# flight only when it resumes).
first_probe_after() {
  awk -v t="$1" -v q="> $ANY4.53:" -v a="$ANY4.53 >" -v mode="${2:-}" '
    $1 !~ /^[0-9]+\.[0-9]+$/ { next }
    { split($1, p, "."); us = p[1] * 1000000 + p[2] }
    index($0, q) { if (mode == "" && us > t) { printf "%.0f\n", us; exit } last = us }
    index($0, a) && mode == "passing" && us > t { printf "%.0f\n", (last > t ? last : us); exit }' "$T/probes.log"
}

# digs_ok NAME GONE_US: of the client's queries, only those sent before
# GONE_US failed.
digs_ok() {
  local bad total fails
  total=$(wc -l <"$T/$1.digs")
  fails=$(grep -c ' fail$' "$T/$1.digs" || true)
  bad=$(awk -v g="$2" '$2 == "fail" && $1 > g' "$T/$1.digs" | wc -l)
  note "client queries during $1: $total sent, $fails failed (all before hA's path was gone: $((bad == 0)))"
  ((total >= 5)) || fail "only $total client queries during $1"
  ((bad == 0)) || fail "$bad client queries sent after hA's path was gone failed"
}

# timed_failure NAME LIMIT_MS CMD...: run CMD on hA at t0, wait for hA's
# paths to go upstream, print the latencies and check them.
GONE_US=0
timed_failure() {
  local name=$1 limit=$2 mark t0 g4 g6 probe
  shift 2
  # OSPF: a router re-originates an LSA at most every 5 s (MinLSInterval,
  # RFC 2328), so a withdrawal right after an announce would wait for that.
  [[ $ANYCAST_MODE == ospf-* ]] && sleep 5.5
  mark=$(mon_lines)
  dig_loop "$name" 4 &
  local digs=$!
  sleep 0.3
  t0=$(now_us)
  "$@"
  g4=$(mon_wait 5000 "$mark" A 4 gone) || fail "$name: hA's v4 path still upstream after 5 s"
  g6=$(mon_wait 5000 "$mark" A 6 gone) || fail "$name: hA's v6 path still upstream after 5 s"
  probe=$(first_probe_after "$t0")
  note "$name: failure -> hA's path gone upstream: v4 $(ms_between "$t0" "$g4") ms, v6 $(ms_between "$t0" "$g6") ms"
  (($(ms_between "$t0" "$g4") <= limit)) || fail "$name: v4 path gone after $(ms_between "$t0" "$g4") ms, want <= $limit"
  (($(ms_between "$t0" "$g6") <= limit)) || fail "$name: v6 path gone after $(ms_between "$t0" "$g6") ms, want <= $limit"
  if [[ $limit -gt $EXIT_MS && -n $probe ]]; then
    note "$name: first failing probe -> gone: v4 $(ms_between "$probe" "$g4") ms"
    (($(ms_between "$probe" "$g4") <= DETECT_MS)) ||
      fail "$name: path gone $(ms_between "$probe" "$g4") ms after the first failing probe, want <= $DETECT_MS"
  fi
  [[ $(upstream_paths 4) == 2 && $(upstream_paths 6) == 2 ]] || fail "$name: want hB and hC left upstream"
  wait "$digs"
  digs_ok "$name" "$g4"
  GONE_US=$g4
}

# back_after NAME MARK: hA's paths return after the withdrawal at GONE_US,
# and only after `rise` (2) passing probes: the first passing probe was sent
# at least one interval_transition (200 ms, less 50 ms slack) before.
back_after() {
  local name=$1 mark=$2 b4 pass
  b4=$(mon_wait 10000 "$mark" A 4 back) || fail "$name: hA's v4 path not back within 10 s"
  mon_wait 3000 "$mark" A 6 back >/dev/null || fail "$name: hA's v6 path not back"
  pass=$(first_probe_after "$GONE_US" passing)
  [[ -n $pass ]] || fail "$name: re-announced with no answered probe since the withdrawal"
  note "$name: re-announced $(ms_between "$GONE_US" "$b4") ms after the withdrawal," \
    "$(ms_between "$pass" "$b4") ms after the first passing probe (dnsmasq pid $(dnsmasq_pid A))"
  (($(ms_between "$pass" "$b4") >= 150)) || fail "$name: re-announced before rise = 2 passes"
  wait_for 5 "three paths again" all_paths
}

step "recreate dnsmasq on hA with a new pid while healthy: no withdrawal"
old=$(dnsmasq_pid A)
mark=$(mon_lines)
ANY_DNSMASQ_TTL=2 write_host A
hnetd A reload >/dev/null
wait_for 10 "a new dnsmasq pid in hA" dnsmasq_new A "$old"
sleep 3
note "dnsmasq pid $old -> $(dnsmasq_pid A)"
assert_eq "$(mon_changes "$mark")" "" "upstream route events while dnsmasq was recreated"
announced A || fail "hA not announced after dnsmasq was recreated"

step "stop the service on hA (kill dnsmasq; netd restarts it ${ANY_RESTART_DELAY} s later)"
# The pid is read before the clock starts.
mark=$(mon_lines)
timed_failure stop "$TOTAL_MS" kill -9 "$(dnsmasq_pid A)"
back_after restart "$mark"

step "tie the service: [anycast.dns] process = \"dnsmasq\""
# Same dnsmasq arguments as running (ANY_DNSMASQ_TTL=2): it keeps its pid.
mark=$(mon_lines)
pid=$(dnsmasq_pid A)
ANY_DNSMASQ_TTL=2 write_host A tied
hnetd A reload >/dev/null
sleep 2
wait_for 15 "hA announced with the process tie" announced A
wait_for 10 "three paths with the process tie" all_paths
assert_eq "$(anycast_state A | jq -r .process.name)" dnsmasq "the service's process in netd status"
note "reload: dnsmasq pid $pid -> $(dnsmasq_pid A), $(mon_changes "$mark" | grep -c . || true) upstream route events"

step "kill -9 the tied dnsmasq: withdrawn at once"
mark=$(mon_lines)
timed_failure kill "$EXIT_MS" kill -9 "$(dnsmasq_pid A)"
back_after restart-tied "$mark"

step "freeze the tied dnsmasq (SIGSTOP): withdrawn through the checks"
pid=$(dnsmasq_pid A)
mark=$(mon_lines)
timed_failure sigstop "$TOTAL_MS" kill -STOP "$pid"
kill -CONT "$pid"
back_after sigcont "$mark"

step "kill -9 netd on hA: the paths stay; a new netd run takes over without a flap"
pid=$(dnsmasq_pid A)
mark=$(mon_lines)
kill -9 "$(cat "$ANY_PIDS/netd-hA")"
sleep 2
all_paths || fail "paths changed after netd was killed: v4 $(upstream_devs 4 | tr '\n' ' ')"
start_host A
sleep 3
assert_eq "$(mon_changes "$mark")" "" "upstream route events across the netd restart"
announced A || fail "hA not announced after netd restarted: $(anycast_state A)"
assert_eq "$(dnsmasq_pid A)" "$pid" "dnsmasq pid across the netd restart"
assert_eq "$(uplink_master A)" br-up "hA's uplink port after the restart"
note "netd restarted: no route event upstream, dnsmasq $pid kept"
hnetd A status | sed 's/^/   | /' >&2 || true
client_dig || fail "client query after the netd restart failed"
