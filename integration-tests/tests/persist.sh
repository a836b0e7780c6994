#!/usr/bin/env bash
# Namespaces are long-lived objects: they outlive the netd process, are
# ordinary /run/netns pins that `ip netns` and `netd exec` can enter, and a
# process running in one keeps working while netd applies again (also a
# changed config).
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip ping jq pgrep

netd_ok apply -c "$TWO_NS"

step "no netd process runs, the namespaces stay"
pgrep -x netd >/dev/null && fail "a netd process is still running: $(pgrep -a -x netd)"
assert_eq "$(ip netns list | awk '{print $1}' | sort | tr '\n' ' ')" "db web " "ip netns list"
for ns in web db; do
  [[ $(stat -f -c %T "$NETNS_DIR/$ns") == nsfs ]] || fail "$NETNS_DIR/$ns is not a namespace pin"
done
j=$(ip netns exec web ip -j addr show dev eth0)
assert_json "$j" '.[0].addr_info | any(.local == "10.88.0.2" and .prefixlen == 24)' "ip netns exec web ip -j addr"
assert_json "$j" '.[0].addr_info | any(.local == "fd88::2" and .prefixlen == 64)' "ip netns exec web ip -j addr"

step "netd exec enters the same namespace"
netd_ok exec web -- ip -j addr show dev eth0
assert_json "$OUT" '.[0].addr_info | any(.local == "10.88.0.2")' "netd exec web -- ip -j addr"
netd_ok exec web -- readlink /proc/self/ns/net
assert_eq "$OUT" "$(netns_id web)" "netns of a netd exec'd process"
netd_ok exec db -- ip -j addr show dev eth0
assert_json "$OUT" '.[0].addr_info | any(.local == "10.88.0.3")' "netd exec db -- ip -j addr"
netd_exit '1|2' exec no-such-ns -- true

step "a process in web keeps working while netd applies"
wait_dad - web db
# 15 pings, 0.2 s apart, across two applies (one of them adds a namespace).
ip netns exec web ping -n -c 15 -i 0.2 -W 1 10.88.0.3 >"$T/ping.log" 2>&1 &
pinger=$!
sleep 0.5
pinger_ns=$(readlink "/proc/$pinger/ns/net")
assert_eq "$pinger_ns" "$(netns_id web)" "netns of the pinging process"
netd_ok apply -c "$TWO_NS"
assert_eq "$(trim "$OUT")" "no changes" "re-apply while a process runs in web"
more=$T/three.toml
cat "$TWO_NS" - >"$more" <<'TOML'

[namespace.cache]
gateway = "10.88.0.1"

[[namespace.cache.interface]]
name = "eth0"
bridge = "br-demo"
addresses = ["10.88.0.4/24"]
TOML
netd_ok apply -c "$more"
assert_contains "$OUT" "+ namespace cache" "apply of a config with one more namespace"
assert_not_contains "$OUT" "web" "apply of a config with one more namespace"
wait "$pinger" || fail "ping from web failed during apply:
$(cat "$T/ping.log")"
grep -q ' 0% packet loss' "$T/ping.log" || fail "packets lost during apply:
$(cat "$T/ping.log")"
note "$(grep 'packet loss' "$T/ping.log")"
assert_eq "$(readlink "/proc/self/ns/net")" "$(cat /run/.netd-sandbox)" "the test's own netns"
assert_eq "$(netns_id web)" "$pinger_ns" "web is still the same namespace"
ns_ping cache 10.88.0.2
assert_converged "$more"
