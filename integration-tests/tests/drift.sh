#!/usr/bin/env bash
# Drift: change netd's objects by hand (delete an address and a route, set a
# link down, change an MTU, delete a host veth end); `netd plan --json` lists
# the repairs, `netd apply` makes them, a second apply has nothing to do and
# traffic flows again.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip ping jq

netd_ok apply -c "$TWO_NS"
check_two_namespaces
wait_dad - web db
web_host=$(host_end web eth0)
web_mac=$(jqr "$(link_json web eth0)" .address)

step "drift by hand"
ip -n web addr del 10.88.0.2/24 dev eth0 # the kernel drops web's v4 default route with it
ip -n web -6 route del default
ip -n web link set eth0 mtu 1400
ip link set "$web_host" down
ip link del veth-db # takes db/eth0, its addresses and routes with it
note "deleted web/eth0 10.88.0.2/24 and web's v6 default route, set web/eth0 mtu 1400,"
note "set $web_host down, deleted veth-db"
ns_no_ping web 10.88.0.3

step "status exits 3 and names the drift"
netd_exit 3 status -c "$TWO_NS" --json
assert_json "$OUT" '.ok == false and any(.drift[]; .kind == "address" and .address == "10.88.0.2" and .prefix_len == 24)' "status --json drift"
netd_exit 3 plan -c "$TWO_NS" --exit-code

step "plan lists the repairs"
netd_ok plan -c "$TWO_NS" --json
plan=$OUT
want() { # FILTER WHAT
  assert_json "$plan" "any(.changes[]; $1)" "plan --json should contain $2"
}
want '.op == "create" and .kind == "address" and .ns == "web" and .target == "web/eth0 10.88.0.2/24"' "the deleted address"
want '.op == "create" and .kind == "route" and .ns == "web" and (.target | startswith("web ::/0 via fd88::1"))' "the deleted v6 route"
want '.op == "create" and .kind == "route" and .ns == "web" and (.target | startswith("web 0.0.0.0/0 via 10.88.0.1"))' "the v4 route the kernel dropped"
want '.op == "modify" and .kind == "veth" and .ns == "web" and .target == "web/eth0" and .mtu == 1450' "the MTU"
want ".op == \"modify\" and .kind == \"veth\" and (.target | endswith(\"$web_host\")) and (.detail | contains(\"up\"))" "the host end set down"
want '.op == "create" and .kind == "veth" and .ns == "db" and .target == "db/eth0"' "the deleted veth"
want '.op == "create" and .kind == "address" and .ns == "db" and .target == "db/eth0 fd88::3/64"' "db's addresses"
want '.op == "create" and .kind == "route" and .ns == "db" and (.target | startswith("db 0.0.0.0/0 via 10.88.0.1"))' "db's routes"
assert_json "$plan" 'all(.changes[]; .op != "delete")' "repairs delete nothing"
assert_json "$plan" 'all(.changes[]; .kind != "namespace" and .kind != "bridge")' "namespaces and the bridge need no repair"

netd_ok plan -c "$TWO_NS"
assert_contains "$OUT" "+ address web/eth0 10.88.0.2/24" "plan text"
assert_contains "$OUT" "+ veth db/eth0 (host veth-db on br-demo)" "plan text"

step "plan changed nothing"
assert_eq "$(global_addrs web eth0 | grep -c 10.88.0.2 || true)" 0 "10.88.0.2 on web/eth0 after plan"
link_exists - veth-db && fail "plan recreated veth-db"

step "apply repairs"
netd_ok apply -c "$TWO_NS"
assert_contains "$OUT" "+ address web/eth0 10.88.0.2/24" "apply output"
check_two_namespaces
assert_eq "$(host_end web eth0)" "$web_host" "host end name of web/eth0 after repair"
assert_eq "$(jqr "$(link_json web eth0)" .address)" "$web_mac" "MAC of web/eth0 after repair"
ping_two_namespaces
assert_converged "$TWO_NS"
netd_ok status -c "$TWO_NS"
netd_ok plan -c "$TWO_NS" --exit-code
