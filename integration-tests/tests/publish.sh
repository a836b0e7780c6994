#!/usr/bin/env bash
# Published ports with real traffic: a client "outside" (a namespace behind an
# uplink of the sandbox host) reaches a namespace's service through the host
# address, over TCP and UDP, IPv4 and IPv6; so do the host itself (its address
# and localhost) and the namespace itself (hairpin). After `nft flush ruleset`
# apply restores table inet netd; `destroy --all` leaves the host's other
# tables exactly as they were; a host forward chain with policy drop blocks
# publishing (netd respects it) until the host allows it.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip nft socat jq sysctl timeout

CFG=$T/publish.toml
cat >"$CFG" <<'TOML'
[bridge.br-pub]
addresses = ["10.88.50.1/24", "fd88:50::1/64"]
masquerade = true

[namespace.web]
gateway = ["10.88.50.1", "fd88:50::1"]

[[namespace.web.interface]]
name = "eth0"
bridge = "br-pub"
addresses = ["10.88.50.2/24", "fd88:50::2/64"]

[[namespace.web.publish]]
port = 8080
to_port = 80

[[namespace.web.publish]]
port = 5353
to_port = 53
proto = "udp"
family = "ipv4"
TOML

step "an uplink and a client outside"
outside_client client v6

netd_ok apply -c "$CFG"
assert_contains "$OUT" "~ table inet netd" "apply output"
assert_converged "$CFG"
assert_eq "$(sysctl -n net.ipv4.conf.br-pub.route_localnet)" 1 "route_localnet on netd's bridge"
assert_eq "$(sysctl -n net.ipv4.conf.uplink.route_localnet)" 0 "route_localnet elsewhere"
rules=$(nft -j list table inet netd | jq '[.nftables[] | select(.rule)] | length')
note "table inet netd has $rules rules"

step "services in web"
ip netns exec web socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo web-tcp' &
on_exit "kill $! 2>/dev/null || true"
ip netns exec web socat TCP6-LISTEN:80,fork,reuseaddr,ipv6only=1 SYSTEM:'echo web-tcp6' &
on_exit "kill $! 2>/dev/null || true"
ip netns exec web socat UDP-RECVFROM:53,fork SYSTEM:'echo web-udp' &
on_exit "kill $! 2>/dev/null || true"
sleep 0.5

tcp() { # NS|- ADDR PORT: up to 3 bounded connections; prints what the service said
  local ns=$1 addr=$2 port=$3 cmd=() got='' try
  [[ $ns == - ]] || cmd=(ip netns exec "$ns")
  for try in 1 2 3; do
    got=$(timeout 5 "${cmd[@]}" socat -T2 - "TCP:$addr:$port,connect-timeout=2" </dev/null 2>/dev/null || true)
    [[ -n $got ]] && break
    note "attempt $try to $addr:$port got nothing"
  done
  printf '%s' "$got"
}
udp() {
  local ns=$1 addr=$2 port=$3
  echo ping | timeout 5 ip netns exec "$ns" socat -T2 - "UDP:$addr:$port" 2>/dev/null || true
}

step "from outside, over the host address"
assert_eq "$(tcp client 192.0.2.1 8080)" web-tcp "client -> 192.0.2.1:8080/tcp"
assert_eq "$(tcp client '[2001:db8:1::1]' 8080)" web-tcp6 "client -> [2001:db8:1::1]:8080/tcp"
assert_eq "$(udp client 192.0.2.1 5353)" web-udp "client -> 192.0.2.1:5353/udp"
assert_eq "$(tcp client 192.0.2.1 8081)" "" "an unpublished port"

step "from the host itself, and localhost"
assert_eq "$(tcp - 192.0.2.1 8080)" web-tcp "host -> 192.0.2.1:8080"
assert_eq "$(tcp - 127.0.0.1 8080)" web-tcp "host -> 127.0.0.1:8080"

step "hairpin: web reaches its own published port through the host"
assert_eq "$(tcp web 192.0.2.1 8080)" web-tcp "web -> 192.0.2.1:8080"

step "nft flush ruleset: apply restores netd's table"
nft flush ruleset
assert_eq "$(tcp client 192.0.2.1 8080)" "" "after flush"
netd_ok plan -c "$CFG" --json
assert_json "$OUT" '[.changes[] | select(.kind == "table")] | length == 1' "plan after flush"
netd_ok apply -c "$CFG"
assert_eq "$(tcp client 192.0.2.1 8080)" web-tcp "after restore"
assert_converged "$CFG"

step "respect: a host forward chain with policy drop wins over netd's accept"
nft -f - <<'NFT'
table inet filter {
  chain input { type filter hook input priority filter; policy accept; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; }
}
NFT
netd_ok apply -c "$CFG"
assert_eq "$OUT" "no changes" "netd leaves the host's table alone"
assert_eq "$(tcp client 192.0.2.1 8080)" "" "blocked by the host's policy"
nft add rule inet filter forward ip daddr 10.88.50.2 tcp dport 80 ct status dnat accept
assert_eq "$(tcp client 192.0.2.1 8080)" web-tcp "allowed by the host's own rule"

step "destroy --all removes table inet netd and nothing else"
before=$(nft list ruleset | sed '/^table inet netd {/,/^}/d')
netd_ok destroy --all
assert_eq "$(nft list tables | grep -c 'inet netd' || true)" 0 "table inet netd after destroy"
after=$(nft list ruleset)
assert_eq "$after" "$before" "the host's other tables"
