#!/usr/bin/env bash
# A published port someone else already has: a host socket bound to it (a
# TCP listener on every address or on the publish's address, a dual-stack
# one, a bound UDP socket) or another table's DNAT for it. `firewall check`
# and `explain` report each conflict and exit 1; strict `apply` refuses and
# changes nothing; respect `apply` warns and publishes. A listener on
# another port or another address is no conflict.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip nft socat jq timeout python3
if ! python3 -c 'import jsonschema' 2>/dev/null; then
  is_ci && fail "python3 cannot import jsonschema (scripts/install-deps.sh installs python3-jsonschema)"
  printf 'SKIP: python3-jsonschema is missing (scripts/install-deps.sh installs it)\n' >&2
  exit 77
fi

# valid SCHEMA WHAT: OUT is valid under docs/schema/SCHEMA.
valid() {
  python3 "$ITEST_DIR/validate-json.py" "$ROOT/docs/schema" "$1" <<<"$OUT" ||
    fail "$2: stdout is not valid under docs/schema/$1"
}

CFG=$T/conflict.toml
write_config() { # POLICY
  cat >"$CFG" <<TOML
[daemon]
policy = "$1"

[bridge.br-cf]
addresses = ["10.88.61.1/24"]

[namespace.web]
gateway = "10.88.61.1"

[[namespace.web.interface]]
name = "eth0"
bridge = "br-cf"
addresses = ["10.88.61.2/24"]

[[namespace.web.publish]]
port = 8080
to_port = 80

[[namespace.web.publish]]
port = 8081
to_port = 81
host_address = "192.0.2.1"

[[namespace.web.publish]]
port = 5353
to_port = 53
proto = "udp"
TOML
}

# listen NAME SOCAT-ADDRESS: a host socket until `unlisten NAME`, up and
# bound before it returns.
declare -A LISTENERS=()
listen() {
  socat -u "$2" /dev/null &
  LISTENERS[$1]=$!
  on_exit "kill ${LISTENERS[$1]} 2>/dev/null || true"
  sleep 0.3
  kill -0 "${LISTENERS[$1]}" || fail "socat $2 did not start"
}
unlisten() {
  kill "${LISTENERS[$1]}" 2>/dev/null || true
  wait "${LISTENERS[$1]}" 2>/dev/null || true
}

conflicts_of() { # PORT: the conflicts of the publish of host port PORT in check's JSON
  jqr "$OUT" "[.publishes[] | select(.port.start == $1) | .conflicts[]]"
}

outside_client client # the host's 192.0.2.1, a publish's host_address
write_config respect

step "no conflict: nothing else on the ports, a listener on another port or address"
netd_ok apply -c "$CFG"
listen other-port TCP4-LISTEN:8082,reuseaddr
listen other-addr TCP4-LISTEN:8081,bind=127.0.0.1,reuseaddr
netd_ok firewall check -c "$CFG"
assert_contains "$OUT" "0 conflict(s)" "check's summary"
netd_ok firewall check -c "$CFG" --json
assert_json "$OUT" '.conflicts == 0 and all(.publishes[]; .conflicts == [])' "check's JSON"
netd_ok firewall explain web:8081 -c "$CFG" --json
assert_json "$OUT" '.conflicts == []' "explain's JSON for 8081"
unlisten other-port
unlisten other-addr

step "a TCP listener on every address"
listen wild TCP4-LISTEN:8080,reuseaddr
netd_exit 1 firewall check -c "$CFG"
assert_contains "$OUT" "publish web 8080/tcp (ipv4): conflict: a host socket tcp 0.0.0.0:8080 of socat (pid ${LISTENERS[wild]}, uid 0)" "check's conflict line"
assert_contains "$OUT" "1 conflict(s)" "check's summary"
netd_exit 1 firewall check -c "$CFG" --json
valid firewall-check.json "check with a socket conflict"
assert_json "$OUT" '.conflicts == 1' "check's count"
assert_eq "$(jqr "$(conflicts_of 8080)" '.[0] | [.kind, .proto, .address, .port, .process, .pid] | @tsv')" \
  "$(printf 'socket\ttcp\t0.0.0.0\t8080\tsocat\t%s' "${LISTENERS[wild]}")" "the socket conflict in JSON"
netd_exit 1 firewall explain web:8080 -c "$CFG"
assert_contains "$OUT" "conflict: a host socket tcp 0.0.0.0:8080 of socat" "explain's conflict line"
netd_exit 1 firewall explain web:8080 -c "$CFG" --json
valid firewall-explain.json "explain with a socket conflict"
assert_json "$OUT" '(.conflicts | length) == 1 and .conflicts[0].kind == "socket"' "explain's JSON"
netd_ok firewall explain web:5353 -c "$CFG" --json
assert_json "$OUT" '.conflicts == []' "a TCP listener is no UDP conflict"
unlisten wild

step "a dual-stack listener on :: takes IPv4 too; a v6only one does not"
listen dual TCP6-LISTEN:8080,ipv6only=0,reuseaddr
netd_exit 1 firewall check -c "$CFG" --json
assert_eq "$(jqr "$(conflicts_of 8080)" '.[0].address')" "::" "dual-stack socket"
unlisten dual
listen v6only TCP6-LISTEN:8080,ipv6only=1,reuseaddr
netd_ok firewall check -c "$CFG"
unlisten v6only

step "a TCP listener on the publish's host address"
listen addr TCP4-LISTEN:8081,bind=192.0.2.1,reuseaddr
netd_exit 1 firewall check -c "$CFG"
assert_contains "$OUT" "publish web 8081/tcp (ipv4, 192.0.2.1): conflict: a host socket tcp 192.0.2.1:8081" "check's line"
unlisten addr

step "a bound UDP socket"
listen udp UDP4-RECV:5353,reuseaddr
netd_exit 1 firewall check -c "$CFG" --json
assert_eq "$(jqr "$(conflicts_of 5353)" '.[0] | [.kind, .proto, .port] | @tsv')" \
  "$(printf 'socket\tudp\t5353')" "the UDP conflict"
unlisten udp

step "another table's DNAT for the port"
nft -f - <<'NFT'
table ip other {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; tcp dport 8080 dnat to 10.88.61.9:80; }
}
NFT
handle=$(nft -j -a list chain ip other prerouting | jq '[.nftables[].rule? // empty][0].handle')
netd_exit 1 firewall check -c "$CFG"
assert_contains "$OUT" "conflict: ip other prerouting handle $handle (user) DNATs the same port: tcp dport 8080 dnat" "check's line"
netd_exit 1 firewall check -c "$CFG" --json
valid firewall-check.json "check with a DNAT conflict"
assert_eq "$(jqr "$(conflicts_of 8080)" '.[0] | [.kind, .certain, .family, .table, .chain, .handle] | @tsv')" \
  "$(printf 'dnat\ttrue\tip\tother\tprerouting\t%s' "$handle")" "the DNAT conflict in JSON"
assert_eq "$(jqr "$(conflicts_of 8081)" 'length')" 0 "conflicts of the publish of 8081"
netd_exit 1 firewall explain web:8080 -c "$CFG" --json
valid firewall-explain.json "explain with a DNAT conflict"
assert_json "$OUT" '.conflicts[0].kind == "dnat"' "explain's JSON"
nft delete table ip other

step "strict: a conflict is a refusal, and nothing changes"
netd_ok destroy --all
printf 'mode = "strict"\n[strict]\nallow_ports = ["tcp:8000-8100", "udp:5353"]\n' >"$T/strict.toml"
write_config "$T/strict.toml"
netd_ok plan -c "$CFG"
listen wild TCP4-LISTEN:8080,reuseaddr
netd_exit 1 apply -c "$CFG"
assert_contains "$ERR" "the strict policy refuses 1 publish(es)" "strict's error"
assert_contains "$ERR" "publish web 8080/tcp (ipv4): conflict: a host socket tcp 0.0.0.0:8080" "the refusal"
assert_eq "$(netns_entries | grep -c "^web$" || true)" 0 "namespace web created under a refusal"
assert_eq "$(nft list tables | grep -c 'inet netd' || true)" 0 "netd table under a refusal"
netd_exit 1 plan -c "$CFG"
netd_exit 1 apply -c "$CFG" --json
assert_json "$OUT" '.error.kind == "strict"' "strict's JSON error"

step "respect: a conflict is a warning, once, and the apply goes on"
write_config respect
netd_ok apply -c "$CFG"
assert_eq "$(grep -c 'conflict: a host socket tcp 0.0.0.0:8080' <<<"$ERR")" 1 "warnings in one apply"
assert_eq "$(netns_entries | grep -c "^web$" || true)" 1 "namespace web under respect"
assert_contains "$(nft list table inet netd)" "8080" "netd's table publishes 8080"
assert_converged "$CFG"
unlisten wild
