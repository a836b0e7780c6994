#!/usr/bin/env bash
# Two namespaces on one bridge, IPv4 and IPv6: apply, check every object from
# outside with `ip -j`, ping between the namespaces and to the bridge, and
# prove convergence (re-apply and plan report no changes).
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip ping jq

step "check and apply examples/two-namespaces.toml"
netd_ok check -c "$TWO_NS"
assert_contains "$OUT" "$TWO_NS: ok (2 namespaces, 1 bridges)" "netd check output"
netd_ok apply -c "$TWO_NS"
for line in "+ namespace web" "+ namespace db" "+ bridge br-demo" "+ veth web/eth0" "+ veth db/eth0 (host veth-db on br-demo)" \
  "+ address web/eth0 10.88.0.2/24" "+ address db/eth0 fd88::3/64" "+ address br-demo 10.88.0.1/24"; do
  assert_contains "$OUT" "$line" "apply output"
done

check_two_namespaces
assert_eq "$(netns_entries | tr '\n' ' ')" "db web " "namespaces under $NETNS_DIR"
ping_two_namespaces

step "netd status --json agrees with the kernel"
netd_ok status --json
status=$OUT
web_host=$(host_end web eth0)
assert_json "$status" '[.namespaces[].name] | sort == ["db", "web"]' "status namespaces"
assert_json "$status" '.namespaces[] | select(.name == "web") | .path == "/run/netns/web"' "status path of web"
assert_json "$status" "$(printf '.namespaces[] | select(.name == "web") | .links[] | select(.name == "eth0") | .up and .mtu == 1450 and (.addresses | map("\\(.address)/\\(.prefix_len)") | index("10.88.0.2/24") and index("fd88::2/64")) and .mac == "%s"' \
  "$(jqr "$(link_json web eth0)" .address)")" "status web/eth0"
assert_json "$status" '.namespaces[] | select(.name == "db") | .links[] | select(.name == "eth0") | .mac == "02:00:00:88:00:03"' "status db/eth0 mac"
assert_json "$status" '.namespaces[] | select(.name == "web") | .routes | map(select(.destination == "0.0.0.0/0" and .gateway == "10.88.0.1" and .table == 254)) | length == 1' "status web default route"
assert_json "$status" ".bridges[] | select(.name == \"br-demo\") | .up and (.addresses | any(.address == \"10.88.0.1\" and .prefix_len == 24)) and (.ports | sort == ([\"$web_host\", \"veth-db\"] | sort))" "status br-demo"
netd_ok status
assert_contains "$OUT" "br-demo" "netd status text"
assert_contains "$OUT" "web" "netd status text"

step "re-apply and plan: no changes"
assert_converged "$TWO_NS"
