#!/usr/bin/env bash
# examples/router.toml: forwarding sysctls are set inside the router namespace
# (and only there), the service address on the router's lo answers a client
# namespace through the router's explicit routes, forwarding works, and a
# sysctl changed by hand is repaired.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip ping jq sysctl

ROUTER=$EXAMPLES/router.toml
host_fwd=$(sysctl -n net.ipv4.ip_forward)

netd_ok apply -c "$ROUTER"
assert_contains "$OUT" "sysctl router net.ipv4.ip_forward" "apply output"

step "sysctls inside the router namespace, not outside"
assert_eq "$(ip netns exec router sysctl -n net.ipv4.ip_forward)" 1 "router net.ipv4.ip_forward"
assert_eq "$(ip netns exec router sysctl -n net.ipv6.conf.all.forwarding)" 1 "router net.ipv6.conf.all.forwarding"
assert_eq "$(ip netns exec client sysctl -n net.ipv4.ip_forward)" 0 "client net.ipv4.ip_forward"
assert_eq "$(sysctl -n net.ipv4.ip_forward)" "$host_fwd" "sandbox host net.ipv4.ip_forward"

step "addresses and routes"
assert_addr router lo 192.0.2.53/32
assert_addr router lo fd88:53::53/128
assert_addr router eth0 10.88.10.2/24
assert_addr router eth1 10.88.20.1/24
assert_addr client eth0 10.88.20.10/24
assert_route router 0.0.0.0/0 10.88.10.1
assert_route router ::/0 fd88:10::1
assert_route client 192.0.2.53/32 10.88.20.1
assert_route client fd88:53::53/128 fd88:20::1
assert_route client 10.88.10.0/24 10.88.20.1 eth0
j=$(ipn client -N route show table main exact 10.88.10.0/24 | jq -c '.[0]')
assert_json "$j" '.metric == 100' "metric of client's route to 10.88.10.0/24"
assert_eq "$(ipn client -N route show table main default)" "[]" "client's default route (none configured)"
assert_eq "$(global_addrs - br-lan | tr '\n' ' ')" "" "addresses on br-lan"

step "the client reaches the service address through the router"
wait_dad - router client
ns_ping client 192.0.2.53
ns_ping client fd88:53::53
ns_ping client 10.88.20.1

step "forwarding: client -> router -> host bridge address"
# The sandbox's host needs a way back to the client's network; netd does not
# manage host routes, so the test adds one by hand (inside the sandbox).
ip route add 10.88.20.0/24 via 10.88.10.2
ns_ping client 10.88.10.1

step "ip_forward set to 0 by hand is repaired"
ip netns exec router sysctl -qw net.ipv4.ip_forward=0
ns_no_ping client 10.88.10.1
netd_ok plan -c "$ROUTER" --json
assert_json "$OUT" '.changes == [.changes[] | select(.kind == "sysctl" and .ns == "router" and .op == "modify" and (.target | endswith("net.ipv4.ip_forward")))] and (.changes | length) == 1' "plan after the sysctl drift"
netd_ok apply -c "$ROUTER"
assert_eq "$(ip netns exec router sysctl -n net.ipv4.ip_forward)" 1 "router net.ipv4.ip_forward after apply"
ns_ping client 10.88.10.1
ns_ping client 192.0.2.53

assert_converged "$ROUTER"
