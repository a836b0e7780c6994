#!/usr/bin/env bash
# `netd run`: converges at start; repairs an address, a route and a deleted
# host end of a veth within a second (in practice milliseconds) and restores
# `table inet netd` after `nft flush ruleset`; answers status on a 0600
# socket and refuses junk; SIGHUP and `netd reload` pick up a changed config,
# and an invalid one is refused with file:line and the running one kept;
# `netd apply` goes through the daemon, `destroy` and a second `netd run`
# are refused at once; SIGTERM exits 0 and leaves every namespace, address,
# route and rule in place; a restarted daemon makes no changes.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip nft jq socat stat curl

CFG=$T/daemon.toml
write_config() { # EXTRA_NAMESPACE (or empty)
  cat >"$CFG" <<'TOML'
[daemon]
metrics = "127.0.0.1:9851"

[bridge.br-d]
addresses = ["10.88.60.1/24"]

[namespace.web]
gateway = ["10.88.60.1"]

[[namespace.web.interface]]
name = "eth0"
bridge = "br-d"
addresses = ["10.88.60.2/24"]

[[namespace.web.publish]]
port = 8080
to_port = 80

[namespace.db]
gateway = ["10.88.60.1"]

[[namespace.db.interface]]
name = "eth0"
bridge = "br-d"
addresses = ["10.88.60.3/24"]
TOML
  if [[ -n $1 ]]; then
    cat >>"$CFG" <<TOML

[namespace.$1]
[[namespace.$1.interface]]
name = "eth0"
bridge = "br-d"
addresses = ["10.88.60.4/24"]
TOML
  fi
}
write_config ''

step "netd run converges at start"
start_daemon "$CFG"
assert_addr web eth0 10.88.60.2/24
assert_addr db eth0 10.88.60.3/24
nft list table inet netd >/dev/null || fail "table inet netd missing after start"
netd_ok status --json
assert_json "$OUT" '.ok and .daemon.ready and .daemon.watching.namespaces == 2' "status through the daemon"
assert_json "$OUT" '.config | endswith("daemon.toml")' "status compares against the daemon's config"
sock=$STATE_DIR/netd.sock
assert_eq "$(stat -c %a "$sock")" 600 "control socket mode"

step "the control socket refuses junk and other versions"
reply=$(echo 'garbage' | socat -t 5 - "UNIX-CONNECT:$sock")
assert_json "$reply" '.ok == false and .schema_version == 1' "junk request"
reply=$(echo '{"schema_version":9,"command":"status"}' | socat -t 5 - "UNIX-CONNECT:$sock")
assert_json "$reply" '.ok == false and (.error | test("schema_version"))' "wrong version"
reply=$(echo '{"schema_version":1,"command":"status"}' | socat -t 5 - "UNIX-CONNECT:$sock")
assert_json "$reply" '.ok and .daemon.pid > 0' "status request"

has_addr() { ip -n "$1" -4 -o addr show dev eth0 | grep -q " $2 "; }
has_default() { ip -n "$1" -4 route show default | grep -q "proto $NETD_PROTO"; }
has_table() { nft list table inet netd; }

step "drift is repaired: an address and the default route it took along"
ip -n db addr del 10.88.60.3/24 dev eth0
took=$(time_until 2000 has_default db) || fail "db's address and default route not back within 2 s"
has_addr db 10.88.60.3/24 || fail "db's address not back"
note "address and default route back after ${took} ms"

step "a route deleted alone"
ip -n web route del default
took=$(time_until 2000 has_default web) || fail "web's default route not back within 2 s"
note "default route back after ${took} ms"

step "a deleted host end: the veth is made again"
host=$(host_end web eth0)
ip link del "$host"
took=$(time_until 3000 has_default web) || fail "web's veth not back within 3 s"
note "veth, address and route back after ${took} ms"
ns_ping web 10.88.60.3

step "nft flush ruleset: table inet netd is restored within 1 s"
nft flush ruleset
took=$(time_until 1000 has_table) || fail "table inet netd not restored within 1 s"
note "table restored after ${took} ms"
netd_ok status --json
assert_json "$OUT" '.daemon.stats.repairs.count >= 4' "repairs are counted"
assert_json "$OUT" '.ok' "status after the repairs"

step "metrics: repairs, reconciles and namespace states on /metrics"
metrics=$(curl -sf --max-time 5 http://127.0.0.1:9851/metrics) || fail "no answer on the metrics endpoint"
assert_contains "$metrics" 'netd_drift_repairs_total{kind="address"}' "metrics"
assert_contains "$metrics" 'netd_reconciles_total{scope="full",result="ok"}' "metrics"
assert_contains "$metrics" 'netd_reconciles_total{scope="nftables",result="ok"}' "metrics"
assert_contains "$metrics" 'netd_namespace_state{namespace="web",state="ok"} 1' "metrics"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:9851/other)" 404 "status of another path"

step "a manual apply goes through the daemon"
netd_ok apply -c "$CFG" --wait 0
assert_eq "$(trim "$OUT")" "no changes" "apply through the daemon"
run_netd apply -c "$EXAMPLES/two-namespaces.toml" --wait 0
[[ $RC == 1 ]] || fail "apply of another config through the daemon exited $RC, want 1"
assert_contains "$ERR" "the running netd daemon reads" "apply of another config"

step "destroy and a second daemon are refused at once"
run_netd destroy web --wait 0
[[ $RC == 1 ]] || fail "destroy with a daemon running exited $RC, want 1"
assert_contains "$ERR" "manages these namespaces" "destroy with a daemon running"
started=$(now_ms)
run_netd run -c "$CFG" --wait 0
[[ $RC == 1 ]] || fail "a second netd run exited $RC, want 1"
assert_contains "$ERR" "pid" "a second netd run names the holder"
(($(now_ms) - started < 5000)) || fail "the second netd run waited"

step "reload: an invalid config is refused and the running one stays"
cp "$CFG" "$T/good.toml"
printf '\n[namespace.web]\nbogus = 1\n' >>"$CFG"
run_netd reload
[[ $RC == 1 ]] || fail "reload of an invalid config exited $RC, want 1"
assert_contains "$ERR" "daemon.toml:" "the error names the file"
kill -0 "$DAEMON_PID" || fail "the daemon died on an invalid config"
assert_addr web eth0 10.88.60.2/24

step "reload and SIGHUP pick up a changed config"
write_config cache
netd_ok reload --json
assert_json "$OUT" '[.changes[] | select(.kind == "namespace" and .op == "create")] | length == 1' "reload creates the new namespace"
assert_addr cache eth0 10.88.60.4/24
write_config ''
netd_ok apply -c "$CFG" --prune --json
assert_json "$OUT" '[.changes[] | select(.kind == "namespace")] | length == 1' "apply --prune through the daemon removes cache"
write_config extra
kill -HUP "$DAEMON_PID"
time_until 5000 has_addr extra 10.88.60.4/24 >/dev/null || fail "SIGHUP did not apply the new config"

step "SIGTERM leaves everything in place"
before=$(for ns in web db extra; do ip -n "$ns" -o addr; ip -n "$ns" route; done; nft list table inet netd | wc -l)
stop_daemon TERM
assert_eq "$DAEMON_RC" 0 "netd run exit code on SIGTERM"
after=$(for ns in web db extra; do ip -n "$ns" -o addr; ip -n "$ns" route; done; nft list table inet netd | wc -l)
assert_eq "$after" "$before" "addresses, routes and rules after the daemon stopped"
[[ ! -e $sock ]] || fail "the control socket outlived the daemon"
assert_contains "$(cat "$T/daemon.log")" "stay in place" "the stop is logged"

step "a restarted daemon makes no changes; kill -9 leaves everything too"
: >"$T/daemon.log"
start_daemon "$CFG"
assert_not_contains "$(cat "$T/daemon.log")" "applied" "log of a restart with nothing to do"
stop_daemon KILL
assert_addr web eth0 10.88.60.2/24
start_daemon "$CFG"
assert_not_contains "$(cat "$T/daemon.log")" "applied" "log of a restart after kill -9"
stop_daemon TERM
netd_ok plan -c "$CFG" --exit-code
