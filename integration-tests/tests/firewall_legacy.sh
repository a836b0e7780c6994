#!/usr/bin/env bash
# iptables-legacy tables, which nft cannot see: with a legacy FORWARD policy
# DROP and a rule (IPv4 and IPv6), a client outside cannot reach a published
# port although every nftables table accepts it. `netd firewall show` (text
# and --json) lists each legacy table with its rules and policies and warns;
# `netd firewall explain` answers "undetermined", naming
# iptables-legacy. Once the policies are ACCEPT and the tables flushed, show
# lists them as inert without a warning, the client gets through, and
# explain's verdict is the one it gives on a host without legacy tables.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool nft iptables-legacy ip6tables-legacy iptables-legacy-save ip6tables-legacy-save \
  jq socat timeout sysctl

CFG=$T/legacy.toml
cat >"$CFG" <<'TOML'
[bridge.br-legacy]
addresses = ["10.88.61.1/24", "fd88:61::1/64"]

[namespace.web]
gateway = ["10.88.61.1", "fd88:61::1"]

[[namespace.web.interface]]
name = "eth0"
bridge = "br-legacy"
addresses = ["10.88.61.2/24", "fd88:61::2/64"]

[[namespace.web.publish]]
port = 8080
to_port = 80
TOML

step "a published port, a client outside, no legacy table"
outside_client client v6
on_exit "ip netns del client"
netd_ok apply -c "$CFG"
assert_converged "$CFG"
ns_exec web socat TCP6-LISTEN:80,fork,reuseaddr,ipv6only=0 SYSTEM:'echo web-tcp' &
on_exit "kill $! 2>/dev/null || true"
sleep 0.5
wait_dad - web client
tcp() { timeout 5 ip netns exec client socat -T2 - "TCP:$1:8080,connect-timeout=2" </dev/null 2>/dev/null || true; }
assert_eq "$(tcp 192.0.2.1)" web-tcp "client -> 192.0.2.1:8080 with no firewall"
assert_eq "$(tcp '[2001:db8:1::1]')" web-tcp "client -> [2001:db8:1::1]:8080 with no firewall"
assert_eq "$(cat /proc/net/ip_tables_names 2>/dev/null) $(cat /proc/net/ip6_tables_names 2>/dev/null)" " " \
  "no legacy table in the fresh sandbox"

netd_ok firewall show
assert_not_contains "$OUT" "iptables-legacy" "show without legacy tables"
netd_ok firewall show --json
assert_json "$OUT" '.legacy == [] and .warnings == []' "show --json without legacy tables"

# explain --json for the client's IPv4 and IPv6 connections: VERDICTS gets
# their verdicts, LEGACY_NOTES whether a note or host effect names iptables-legacy.
VERDICTS='' LEGACY_NOTES=''
explain_flows() {
  local from
  VERDICTS='' LEGACY_NOTES=''
  for from in 192.0.2.100 2001:db8:1::100; do
    netd_exit '0|1' firewall explain web:8080/tcp -c "$CFG" --from "$from" --json
    assert_json "$OUT" '.explanations | length == 1' "explain --from $from"
    VERDICTS+=" $(jqr "$OUT" '.explanations[0].verdict')"
    LEGACY_NOTES+=" $(jqr "$OUT" '.explanations[0] | .notes + [.host[].reason] | any(test("ip6?tables-legacy"))')"
  done
}
explain_flows
baseline=$VERDICTS
assert_eq "$VERDICTS" " accepted accepted" "explain (v4, v6) without legacy tables"
assert_eq "$LEGACY_NOTES" " false false" "explain's notes about iptables-legacy without legacy tables"

step "iptables-legacy and ip6tables-legacy: FORWARD policy DROP and rules"
iptables-legacy -P FORWARD DROP
iptables-legacy -A FORWARD -p tcp --dport 22 -j ACCEPT
ip6tables-legacy -P FORWARD DROP
ip6tables-legacy -A FORWARD -p tcp --dport 22 -j ACCEPT
ip6tables-legacy -A FORWARD -p icmpv6 -j ACCEPT
assert_eq "$(tcp 192.0.2.1)" "" "client -> 192.0.2.1:8080 under the legacy FORWARD DROP"
assert_eq "$(tcp '[2001:db8:1::1]')" "" "client -> [2001:db8:1::1]:8080 under the legacy FORWARD DROP"
assert_eq "$(nft list ruleset | grep -c 'policy drop' || true)" 0 "nft sees no drop"

netd_ok firewall show
assert_contains "$OUT" "iptables-legacy tables (nft cannot see their rules):" "show"
assert_contains "$OUT" "  ip filter   1 rule, FORWARD policy DROP" "show"
assert_contains "$OUT" "  ip6 filter  2 rules, FORWARD policy DROP" "show"
assert_contains "$OUT" "warning: iptables-legacy table ip filter is active (1 rule, FORWARD policy DROP): nft cannot see it" "show"
assert_contains "$OUT" "warning: iptables-legacy table ip6 filter is active (2 rules, FORWARD policy DROP): nft cannot see it" "show"
assert_contains "$OUT" "ip6tables-legacy -t filter -S" "show: how to list the ip6 table"
assert_not_contains "$OUT" "(inert)" "show"
netd_ok firewall show --json
show=$OUT
assert_json "$show" '.legacy == [
  {"family": "ip", "name": "filter", "contents": {"rules": 1, "non_accept_policies": ["FORWARD"]}},
  {"family": "ip6", "name": "filter", "contents": {"rules": 2, "non_accept_policies": ["FORWARD"]}}]' \
  "show --json: the legacy tables"
assert_json "$show" '[.warnings[] | select(startswith("iptables-legacy table"))] | length == 2' \
  "show --json: a warning per active legacy table"

step "explain cannot judge what a legacy table does: undetermined, with a note"
explain_flows
assert_eq "$VERDICTS" " undetermined undetermined" "explain (v4, v6) under active legacy tables"
assert_eq "$LEGACY_NOTES" " true true" "explain's notes about iptables-legacy under active legacy tables"

step "policies ACCEPT and tables flushed: inert, no warning"
iptables-legacy -P FORWARD ACCEPT
iptables-legacy -F
ip6tables-legacy -P FORWARD ACCEPT
ip6tables-legacy -F
# Loading a second table leaves it inert too.
iptables-legacy -t nat -L >/dev/null
assert_eq "$(tcp 192.0.2.1)" web-tcp "client -> 192.0.2.1:8080 with inert legacy tables"
assert_eq "$(tcp '[2001:db8:1::1]')" web-tcp "client -> [2001:db8:1::1]:8080 with inert legacy tables"

netd_ok firewall show
assert_contains "$OUT" "  ip filter   no rules, every policy ACCEPT  (inert)" "show"
assert_contains "$OUT" "  ip nat      no rules, every policy ACCEPT  (inert)" "show"
assert_contains "$OUT" "  ip6 filter  no rules, every policy ACCEPT  (inert)" "show"
assert_not_contains "$OUT" "warning:" "show with inert legacy tables"
netd_ok firewall show --json
assert_json "$OUT" '[.legacy[] | "\(.family) \(.name)"] == ["ip filter", "ip nat", "ip6 filter"]' "show --json"
assert_json "$OUT" '.legacy | all(.contents == {"rules": 0, "non_accept_policies": []})' "show --json: inert"
assert_json "$OUT" '.warnings == []' "show --json: no warning"

step "inert legacy tables do not change explain's verdict"
explain_flows
assert_eq "$VERDICTS" "$baseline" "explain (v4, v6) with inert legacy tables"
