#!/usr/bin/env bash
# netd firewall against a real ruleset: with the policy-drop fixture (a
# hand-written nftables firewall) and ufw's iptables-nft tables loaded,
# `netd firewall show` (text and --json) reports each table's owner and the
# drop policies. Then, with a published port applied, `netd firewall check`
# says the host's forward policy drops it; running the nft commands it
# prints lets a client outside through, and check passes.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool nft iptables-nft-restore ip6tables-nft-restore jq socat timeout sysctl

FIXTURES=$ROOT/netd/testdata/firewall

step "load the policy-drop fixture and ufw's tables"
nft -f "$FIXTURES/policy-drop.nft"
iptables-nft-restore <"$FIXTURES/ufw-default.rules"
ip6tables-nft-restore <"$FIXTURES/ufw-default.rules6"

step "netd firewall show: owners and drop policies"
netd_ok firewall show
assert_contains "$OUT" "table inet filter  owner user" "show"
assert_contains "$OUT" "table ip filter  owner ufw" "show"
assert_contains "$OUT" "table ip6 filter  owner ufw" "show"
assert_contains "$OUT" "chain forward  hook forward      type filter  priority 0 (filter)  policy drop" "show"
assert_contains "$OUT" "chain FORWARD  hook forward      type filter  priority 0 (filter)  policy drop" "show"
# Options read from iptables-nft-save: conntrack is evaluated, hl is not modelled.
assert_contains "$OUT" "opaque: xt match hl" "show (iptables matches netd does not evaluate)"
assert_not_contains "$OUT" "opaque: xt match conntrack" "show (iptables match options from iptables-nft-save)"
drops=$(grep '^policy drop:' <<<"$OUT")
for chain in "inet filter input (user)" "inet filter forward (user)" "ip filter INPUT (ufw)" \
  "ip filter FORWARD (ufw)" "ip6 filter FORWARD (ufw)"; do
  assert_contains "$drops" "$chain" "the policy drop line"
done
assert_not_contains "$drops" "OUTPUT" "the policy drop line"

netd_ok firewall show --json
show=$OUT
assert_json "$show" '[.tables[] | "\(.family) \(.name) \(.owner)"] == ["inet filter user", "ip filter ufw", "ip6 filter ufw"]' "owners"
assert_json "$show" '.tables[] | select(.name == "filter" and .family == "inet") | .base_chains | map(select(.policy == "drop") | .name) == ["input", "forward"]' "inet filter drop policies"
assert_json "$show" '.tables[] | select(.family == "ip") | .base_chains[] | select(.name == "FORWARD") | .policy == "drop" and .hook == "forward" and .priority == 0 and .priority_name == "filter"' "ip filter FORWARD"
assert_json "$show" '[.hooks[] | select(.hook == "forward" and .packets == "ipv4") | .chains[] | "\(.family) \(.table) \(.chain)"] == ["inet filter forward", "ip filter FORWARD"]' "forward hook order for IPv4"
assert_json "$show" '.tables[] | select(.family == "inet") | .sets == 1' "the named set"

step "a published port, and a client outside"
nft flush ruleset
nft -f "$FIXTURES/policy-drop.nft"
CFG=$T/firewall.toml
cat >"$CFG" <<'TOML'
[bridge.br-fw]
addresses = ["10.88.60.1/24", "fd88:60::1/64"]

[namespace.web]
gateway = ["10.88.60.1", "fd88:60::1"]

[[namespace.web.interface]]
name = "eth0"
bridge = "br-fw"
addresses = ["10.88.60.2/24", "fd88:60::2/64"]

[[namespace.web.publish]]
port = 8080
to_port = 80
TOML
outside_client client
on_exit "ip netns del client"
netd_ok apply -c "$CFG"
ip netns exec web socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo web-tcp' &
on_exit "kill $! 2>/dev/null || true"
sleep 0.5
tcp() { timeout 5 ip netns exec client socat -T2 - "TCP:$1:$2,connect-timeout=2" </dev/null 2>/dev/null || true; }
assert_eq "$(tcp 192.0.2.1 8080)" "" "client -> 192.0.2.1:8080 under the host's forward policy drop"

step "netd firewall explain and check say which rule drops it"
netd_exit 1 firewall explain web:80 -c "$CFG" --from 192.0.2.100
assert_contains "$OUT" "verdict: DROPPED" "explain"
assert_contains "$OUT" "DROP: policy drop of inet filter forward" "explain"
assert_contains "$OUT" "assumed the client connects to 192.0.2.1, the address of uplink" "explain"
netd_exit 1 firewall explain web:8080/tcp -c "$CFG" --from 192.0.2.100 --json
assert_json "$OUT" '.explanations | length == 1' "explain --json"
assert_json "$OUT" '.explanations[0] | .verdict == "dropped" and .decided_by.hook == "forward" and .decided_by.outcome.decision.by == "policy" and .decided_by.outcome.decision.chain == "forward"' "explain --json"
assert_json "$OUT" '.explanations[0].flow | .iif == "uplink" and .bridge == "br-fw" and .host == "192.0.2.1" and .target_port == 80' "explain --json flow"
netd_exit 1 firewall check -c "$CFG" --json
check=$OUT
assert_json "$check" '.dropped == 2 and .accepted == 0 and .undetermined == 0' "check --json (v4 and v6)"
netd_exit 2 firewall explain web:81 -c "$CFG"
assert_contains "$ERR" "publishes no port 81" "explain of an unpublished port"
netd_exit 2 firewall explain nope:80 -c "$CFG"

step "the commands check prints let the client through"
jqr "$check" '.publishes[].explanations[].fixes[] | select(.tool == "nft") | .command' >"$T/fixes"
assert_eq "$(wc -l <"$T/fixes")" 2 "one nft command per family"
while read -r cmd; do
  note "$cmd"
  read -ra argv <<<"$cmd"
  "${argv[@]}"
done <"$T/fixes"
assert_eq "$(tcp 192.0.2.1 8080)" web-tcp "client -> 192.0.2.1:8080 after the suggested rule"
netd_ok firewall check -c "$CFG"
assert_contains "$OUT" "2 accepted, 0 dropped, 0 undetermined" "check after the fix"
