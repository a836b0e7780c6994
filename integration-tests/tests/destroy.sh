#!/usr/bin/env bash
# `netd destroy web` removes that namespace and its host veth only;
# `apply --prune` removes what left the config; `netd destroy --all` removes
# every netd object and its state, and never a foreign one.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip ping jq

step "foreign objects that netd must leave alone"
ip netns add foreign
ip link add br-foreign type bridge
ip link add veth-foreign type veth peer name veth-foreign1
ip link set veth-foreign master br-foreign

netd_ok apply -c "$TWO_NS"
check_two_namespaces
web_host=$(host_end web eth0)
web_mac=$(jqr "$(link_json web eth0)" .address)

step "netd destroy web"
netd_ok destroy web
[[ ! -e $NETNS_DIR/web ]] || fail "$NETNS_DIR/web still exists"
link_exists - "$web_host" && fail "web's host veth $web_host still exists"
assert_eq "$(netns_entries | tr '\n' ' ')" "db foreign " "namespaces left"
assert_eq "$(bridge_ports br-demo | tr '\n' ' ')" "veth-db " "ports of br-demo"
assert_addr db eth0 10.88.0.3/24
assert_route db 0.0.0.0/0 10.88.0.1
wait_dad - db
ns_ping db 10.88.0.1
ns_ping db fd88::1
netd_ok status --json
assert_json "$OUT" '[.namespaces[].name] == ["db"]' "status after destroy web"

step "destroying a namespace netd does not own is an error"
netd_exit 1 destroy foreign
[[ -e $NETNS_DIR/foreign ]] || fail "netd destroy foreign removed a namespace netd does not own"

step "apply brings web back, with the same names and MAC"
netd_ok plan -c "$TWO_NS" --json
assert_json "$OUT" 'all(.changes[]; .ns == "web" or .ns == null)' "plan touches only web"
assert_json "$OUT" 'any(.changes[]; .op == "create" and .kind == "namespace" and .target == "web")' "plan recreates web"
netd_ok apply -c "$TWO_NS"
assert_eq "$(host_end web eth0)" "$web_host" "host end of web/eth0"
assert_eq "$(jqr "$(link_json web eth0)" .address)" "$web_mac" "MAC of web/eth0"
check_two_namespaces_plus() { # the two namespaces and the foreign one
  assert_eq "$(netns_entries | tr '\n' ' ')" "db foreign web " "namespaces"
}
check_two_namespaces_plus
assert_converged "$TWO_NS"

step "a namespace that leaves the config stays until --prune"
only_db=$T/only-db.toml
sed '/^\[namespace.web\]/,/^mtu = 1450/d' "$TWO_NS" >"$only_db"
grep -q 'namespace.web' "$only_db" && fail "could not cut web out of the config"
netd_ok check -c "$only_db"
netd_ok apply -c "$only_db"
assert_eq "$(trim "$OUT")" "no changes" "apply without --prune of a config without web"
[[ -e $NETNS_DIR/web ]] || fail "apply without --prune removed web"
netd_ok plan -c "$only_db" --prune --json
assert_json "$OUT" 'any(.changes[]; .op == "delete" and .kind == "namespace" and .target == "web")' "plan --prune deletes web"
assert_json "$OUT" 'all(.changes[]; .op == "delete")' "plan --prune only deletes"
netd_ok apply -c "$only_db" --prune
[[ ! -e $NETNS_DIR/web ]] || fail "apply --prune left web"
link_exists - "$web_host" && fail "apply --prune left web's host veth"
assert_eq "$(netns_entries | tr '\n' ' ')" "db foreign " "namespaces after --prune"
assert_converged "$only_db"
netd_ok apply -c "$TWO_NS"

step "netd destroy --all"
netd_ok destroy --all
assert_eq "$(netd_links | tr '\n' ' ')" "" "links with a netd: alias"
for l in br-demo veth-db "$web_host"; do
  link_exists - "$l" && fail "$l still exists"
done
assert_eq "$(netns_entries | tr '\n' ' ')" "foreign " "namespaces left (only the foreign one)"
assert_eq "$(state_files | tr '\n' ' ')" "" "files under $STATE_DIR"
link_exists - br-foreign || fail "foreign bridge removed"
assert_eq "$(bridge_ports br-foreign | tr '\n' ' ')" "veth-foreign " "ports of the foreign bridge"
netd_ok status --json
assert_json "$OUT" '(.namespaces | length) == 0 and (.bridges | length) == 0' "status after destroy --all"
netd_ok destroy --all
assert_eq "$(trim "$OUT")" "no changes" "second destroy --all"

step "apply from scratch gives the same names and MAC again"
netd_ok apply -c "$TWO_NS"
assert_eq "$(host_end web eth0)" "$web_host" "host end of web/eth0"
assert_eq "$(jqr "$(link_json web eth0)" .address)" "$web_mac" "MAC of web/eth0"
check_two_namespaces_plus
assert_converged "$TWO_NS"
