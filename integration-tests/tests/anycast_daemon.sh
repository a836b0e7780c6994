#!/usr/bin/env bash
# Anycast in `netd run` on one host, at the level of the announce routes
# (the routing daemons are exercised by anycast_multihost and
# anycast_config):
# - a healthy service gets `PREFIX dev lo table 100 proto 201`, for both
#   families, and `netd status` shows it announced with its checks up;
# - killing the process the service is tied to withdraws at once (the
#   latency is printed); once restarted, the checks re-announce after rise;
# - a service without a process withdraws after `fall` failed checks and
#   comes back after `rise` passes;
# - `netd anycast withdraw` holds the state across a netd restart, until
#   `netd anycast release`;
# - a route deleted behind netd's back is re-asserted;
# - `kill -9` of netd leaves the routes; a new netd picks them up with no
#   deletion at all;
# - SIGTERM withdraws (withdraw_on_exit) and leaves the prefixes on lo, so
#   the service still accepts connections.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq busybox python3

mkdir -p "$T/www"
echo ok >"$T/www/index.html"
touch "$T/db-healthy"

cfg=$T/netd.toml
cat >"$cfg" <<TOML
[bridge.br-any]
addresses = ["10.88.95.1/24"]

[namespace.svc]
loopback = ["203.0.113.53/32", "2001:db8:53::53/128", "203.0.113.54/32"]
[[namespace.svc.interface]]
name = "eth0"
bridge = "br-any"
addresses = ["10.88.95.2/24"]

[[namespace.svc.process]]
name = "web"
command = "busybox"
args = ["httpd", "-f", "-p", "8080", "-h", "$T/www"]
restart_delay = 0.2

[anycast.web]
namespace = "svc"
prefixes = ["203.0.113.53/32", "2001:db8:53::53/128"]
process = "web"
[[anycast.web.check]]
kind = "http"
port = 8080
path = "/index.html"
body = "ok"
interval = 0.5
interval_transition = 0.1
timeout = 0.08

[anycast.db]
namespace = "svc"
prefixes = ["203.0.113.54/32"]
[[anycast.db.check]]
kind = "exec"
command = "test"
args = ["-e", "$T/db-healthy"]
interval = 0.5
interval_transition = 0.1
timeout = 0.08
TOML

announced() { # PREFIX [TABLE]: the announce route is there
  local family=-4
  [[ $1 == *:* ]] && family=-6
  ip "$family" -n svc route show table "${2:-100}" proto 201 | grep -q "^$1 dev lo"
}
withdrawn() { ! announced "$@"; }
web_pid() { "$NETD" status --json | jq -r '.daemon.processes[] | select(.name=="web") | .pid'; }

step "a healthy service is announced, both families"
start_daemon "$cfg"
wait_for 10 "web announced (v4)" announced 203.0.113.53
wait_for 10 "web announced (v6)" announced 2001:db8:53::53
wait_for 10 "db announced" announced 203.0.113.54
ip -n svc -d route show table 100 proto 201 >&2
ip -6 -n svc -d route show table 100 proto 201 >&2
run_netd status --json
assert_eq "$(jqr "$OUT" '.daemon.anycast.web.announced')" true "web announced in status"
assert_eq "$(jqr "$OUT" '.daemon.anycast.web.checks[0].state')" up "web's check up"
assert_eq "$(jqr "$OUT" '.daemon.anycast.web.process.state')" running "web's process"
python3 "$ITEST_DIR/validate-json.py" "$ROOT/docs/schema" status.json <<<"$OUT" ||
  fail "netd status --json with anycast services does not match docs/schema/status.json"
run_netd status
assert_contains "$OUT" "anycast web in svc: announced"

step "killing the tied process withdraws at once, restart re-announces after rise"
pid=$(web_pid)
kill -9 "$pid"
ms=$(time_until 2000 withdrawn 203.0.113.53) || fail "web not withdrawn within 2 s of the kill"
note "withdrawn ${ms} ms after kill -9 (polled every 5 ms)"
((ms <= 100)) || fail "withdrawal took ${ms} ms; the process exit must withdraw at once"
grep -q "anycast withdrawn: process web exited" "$T/daemon.log" || fail "no log line with the reason"
wait_for 10 "web re-announced" announced 203.0.113.53
[[ $(web_pid) != "$pid" ]] || fail "the process was not restarted"
run_netd status --json
assert_eq "$(jqr "$OUT" '.daemon.anycast.web.transitions')" 3 "announced, withdrawn, announced again"

step "a failing check withdraws after fall, a passing one announces after rise"
rm "$T/db-healthy"
wait_for 5 "db withdrawn" withdrawn 203.0.113.54
announced 203.0.113.53 || fail "web must not follow db"
run_netd status --json
assert_contains "$(jqr "$OUT" '.daemon.anycast.db.reason')" "check exec#0 down"
touch "$T/db-healthy"
wait_for 5 "db re-announced" announced 203.0.113.54

step "forced withdraw holds across a restart until release"
run_netd anycast withdraw web
assert_eq "$RC" 0 "anycast withdraw"
wait_for 5 "web withdrawn by force" withdrawn 203.0.113.53
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
start_daemon "$cfg"
sleep 1.5
withdrawn 203.0.113.53 || fail "the forced withdrawal did not survive the restart"
run_netd status --json
assert_eq "$(jqr "$OUT" '.daemon.anycast.web.forced')" withdraw "forced state shown"
run_netd anycast release web
wait_for 5 "web announced after release" announced 203.0.113.53
run_netd anycast withdraw nosuch
[[ $RC != 0 ]] || fail "forcing an unknown service must fail"
assert_contains "$ERR" "no anycast service"

step "a route deleted behind netd's back is re-asserted"
ip -n svc route del 203.0.113.54/32 dev lo table 100 proto 201
wait_for 15 "db re-asserted" announced 203.0.113.54

step "kill -9 leaves the routes; the next netd picks them up without a flap"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
announced 203.0.113.53 || {
  ip -n svc route show table all proto 201 >&2
  fail "kill -9 of netd withdrew web"
}
ip -n svc monitor route >"$T/monitor" 2>&1 &
mon=$!
on_exit "kill $mon 2>/dev/null || true"
sleep 0.2
start_daemon "$cfg"
sleep 2
kill "$mon"
if grep -q "^Deleted.*203.0.113.5[34]" "$T/monitor"; then
  cat "$T/monitor" >&2
  fail "the restart withdrew a healthy service"
fi
announced 203.0.113.53 || fail "web not announced after the restart"

step "SIGTERM withdraws first; the prefixes stay served on lo"
stop_daemon TERM
assert_eq "$DAEMON_RC" 0 "netd run exit status"
withdrawn 203.0.113.53 || fail "web still announced after SIGTERM"
withdrawn 2001:db8:53::53 || fail "web (v6) still announced after SIGTERM"
ip -n svc addr show dev lo | grep -q 203.0.113.53 || fail "the anycast address left lo"
