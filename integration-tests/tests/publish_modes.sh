#!/usr/bin/env bash
# The three policy modes on a host whose forward chain has `policy drop`:
# respect publishes but the host's drop wins; integrate adds netd's tagged
# accept rules to the host chain (and removes exactly those again); strict
# refuses to publish what the host would block, naming what blocks it.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip nft socat jq sysctl timeout

write_config() { # POLICY
  cat >"$T/modes.toml" <<TOML
[daemon]
policy = "$1"

[bridge.br-pub]
addresses = ["10.88.60.1/24"]

[namespace.web]
gateway = "10.88.60.1"

[[namespace.web.interface]]
name = "eth0"
bridge = "br-pub"
addresses = ["10.88.60.2/24"]

[[namespace.web.publish]]
port = 8080
to_port = 80
TOML
}

step "a host with policy drop on input and forward, and a client outside"
nft -f - <<'NFT'
table inet filter {
  chain input { type filter hook input priority filter; policy drop; ct state established,related accept; iif lo accept; tcp dport 22 accept; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; }
  chain output { type filter hook output priority filter; policy accept; }
}
NFT
host_before=$(nft list table inet filter)
outside_client client

tcp() {
  timeout 5 ip netns exec client socat -T2 - "TCP:192.0.2.1:8080,connect-timeout=2" </dev/null 2>/dev/null || true
}

write_config respect
netd_ok apply -c "$T/modes.toml"
ip netns exec web socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo web' &
on_exit "kill $! 2>/dev/null || true"
sleep 0.5

step "respect: netd's accept does not get past the host's drop"
assert_eq "$(tcp)" "" "client -> 8080 under respect"
assert_eq "$(nft list table inet filter)" "$host_before" "host table untouched"

step "integrate: tagged accept rules in the host's forward chain"
write_config integrate
netd_ok apply -c "$T/modes.toml"
assert_contains "$OUT" "netd's rules in host chains" "apply output"
assert_eq "$(tcp)" web "client -> 8080 under integrate"
tagged=$(nft -j list chain inet filter forward | jq '[.nftables[] | select(.rule.comment? // "" | startswith("netd: "))] | length')
assert_eq "$tagged" 1 "netd's tagged rules in inet filter forward"
assert_converged "$T/modes.toml"

step "back to respect: exactly netd's rules leave the host chain"
write_config respect
netd_ok apply -c "$T/modes.toml"
assert_eq "$(nft list table inet filter)" "$host_before" "host table after leaving integrate"
assert_eq "$(tcp)" "" "client -> 8080 under respect again"

step "integrate, then destroy --all"
write_config integrate
netd_ok apply -c "$T/modes.toml"
netd_ok destroy --all
assert_eq "$(nft list table inet filter)" "$host_before" "host table after destroy"

step "strict: a publish the host would drop is refused, naming what drops it"
cat >"$T/strict.toml" <<'TOML'
mode = "strict"
[strict]
allow_ports = ["tcp:8000-8100"]
TOML
write_config "$T/strict.toml"
netd_exit 1 apply -c "$T/modes.toml"
assert_contains "$ERR" "strict policy refuses" "strict's error"
assert_contains "$ERR" "inet filter forward" "the chain that drops"
assert_eq "$(netns_entries | grep -c "^web$" || true)" 0 "namespace web created under a refusal"
assert_eq "$(nft list tables | grep -c 'inet netd' || true)" 0 "netd table under a refusal"
netd_exit 1 plan -c "$T/modes.toml"

step "strict: once the host allows it, strict publishes"
nft insert rule inet filter forward ip daddr 10.88.60.2 tcp dport 80 ct status dnat accept
netd_ok apply -c "$T/modes.toml"
ip netns exec web socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo web' &
on_exit "kill $! 2>/dev/null || true"
sleep 0.5
assert_eq "$(tcp)" web "client -> 8080 under strict"
assert_converged "$T/modes.toml"

step "strict: the allow-list refuses a port outside it"
sed -i 's/^port = 8080$/port = 9090/' "$T/modes.toml"
netd_exit 1 apply -c "$T/modes.toml"
assert_contains "$ERR" "allow_ports" "allow-list refusal"
