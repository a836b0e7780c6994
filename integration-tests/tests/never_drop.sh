#!/usr/bin/env bash
# Never drop: with `netd run` owning namespaces `app` (publishing tcp 8080,
# running a supervised busybox httpd and a supervised BIRD sidecar) and
# `peer` (a BIRD the test starts, in BGP session with app's), recreate the
# app (the supervised httpd killed, a podman container replaced), restart the
# BIRD sidecar, kill -9 netd and start it again, reload with an unrelated
# change and flush the nft ruleset. Meanwhile `ip monitor` in the host and
# both namespaces records deletions, and bounded clients fetch from the
# published port and from app's address. Asserts: no link, address or route
# is deleted; no request fails outside the app's own restart windows; the
# published port is back within 1 s of the flush; the BGP session keeps its
# uptime across the app's recreation and netd's restart.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq nft curl ss nsenter bird birdc podman busybox
"$NETD" run --help >/dev/null 2>&1 || fail "$NETD has no \`netd run\`; this test is of the daemon"
# shellcheck source=SCRIPTDIR/../never-drop-lib.sh
source "$ITEST_DIR/never-drop-lib.sh"

BUSYBOX=$(command -v busybox)
mkdir -p "$T/www"
echo app >"$T/www/index.html"
bird_conf "$T/app-bird.conf" 10.89.0.2 65001 10.89.0.3 65002 peer
bird_conf "$T/peer-bird.conf" 10.89.0.3 65002 10.89.0.2 65001 app

CFG=$T/never-drop.toml
cat >"$CFG" <<TOML
[bridge.br-nd]
addresses = ["10.89.0.1/24"]

[namespace.app]
gateway = ["10.89.0.1"]

[[namespace.app.interface]]
name = "eth0"
bridge = "br-nd"
addresses = ["10.89.0.2/24"]

[[namespace.app.publish]]
port = 8080
to_port = 8080

[[namespace.app.process]]
name = "httpd"
command = "$BUSYBOX"
args = ["httpd", "-f", "-p", "8080", "-h", "$T/www"]
restart = "always"

[[namespace.app.process]]
name = "bird"
command = "$(command -v bird)"
args = ["-f", "-c", "$T/app-bird.conf", "-s", "$T/app-bird.ctl"]
capabilities = ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]
restart = "always"

[namespace.peer]
gateway = ["10.89.0.1"]

[[namespace.peer.interface]]
name = "eth0"
bridge = "br-nd"
addresses = ["10.89.0.3/24"]
TOML
netd_ok check -c "$CFG"

step "netd run, an outside client, the peer's BIRD, a podman container"
outside_client client
start_daemon "$CFG"
on_exit 'stop_daemon'
wait_for 10 "httpd listening in app" listening app 8080
ip netns exec peer bird -c "$T/peer-bird.conf" -s "$T/peer-bird.ctl" -P "$T/peer-bird.pid"
on_exit 'kill "$(cat "$T/peer-bird.pid")"'
wait_for 30 "BGP session app-peer Established" bgp_established
podman_start
on_exit 'pod rm -f -a -t 0'
wait_for 10 "podman httpd listening in app" listening app 8081

step "watch deletions and send requests"
for ns in - app peer; do
  if [[ $ns == - ]]; then
    ip -o -ts monitor link address route >"$T/mon.host" 2>&1 &
  else
    ip -n "$ns" -o -ts monitor link address route >"$T/mon.$ns" 2>&1 &
  fi
  on_exit "kill $! 2>/dev/null"
done
: >"$T/requests.log" >"$T/windows"
start_client published "http://192.0.2.1:8080/" client
start_client direct "http://10.89.0.2:8080/"
start_client podman "http://10.89.0.2:8081/"
sleep 2
since0=$(bgp_since)
note "BGP session up since $since0"

step "(a) recreate the app: kill -9 the supervised httpd"
old=$(process_pid app httpd)
window_start
kill -KILL "$old"
wait_for 15 "a new httpd pid" new_pid app httpd "$old"
wait_for 15 "httpd listening again" listening app 8080
window_end "published direct" "httpd restart"
note "httpd $old -> $(process_pid app httpd)"
sleep 2

step "(a) recreate the app: replace the podman container"
window_start
podman_start
wait_for 15 "podman httpd listening again" listening app 8081
window_end podman "podman container replaced"
sleep 2
assert_eq "$(bgp_since)" "$since0" "BGP session uptime after the app's recreation"

step "(b) restart the BIRD sidecar"
old=$(process_pid app bird)
kill -TERM "$old"
wait_for 15 "a new bird pid" new_pid app bird "$old"
wait_for 60 "BGP session Established again" bgp_established
sleep 2
since_b=$(bgp_since)
note "BGP session up again since $since_b"

step "(c) kill -9 netd and start netd run again"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
start_daemon "$CFG"
sleep 2
assert_eq "$(bgp_since)" "$since_b" "BGP session uptime after netd's restart"

step "(d) an unrelated change and netd reload"
cat >>"$CFG" <<'TOML'

[namespace.extra]
gateway = ["10.89.0.1"]

[[namespace.extra.interface]]
name = "eth0"
bridge = "br-nd"
addresses = ["10.89.0.9/24"]
TOML
netd_ok reload
wait_for 10 "namespace extra made by the reload" test -e "$NETNS_DIR/extra"
sleep 2

step "(e) nft flush ruleset"
window_start
nft flush ruleset
wait_for 5 "table inet netd back" nft list table inet netd
restore_ms=$(($(now_ms) - WINDOW_START))
# A request sent while the table was gone fails at once (connection
# refused); one sent right after it is back goes through.
wait_for 5 "the published port answers" curl_ok client "http://192.0.2.1:8080/"
window_end published "nft flush"
outage_ms=$(($(now_ms) - WINDOW_START))
note "table inet netd restored after $restore_ms ms; the published port answered again after $outage_ms ms"
((outage_ms <= 1000)) || fail "the published port was out for $outage_ms ms after the flush, want <= 1000"
sleep 2

step "results"
stop_clients
check_requests
check_no_deletions
netd_ok plan --exit-code -c "$CFG"
