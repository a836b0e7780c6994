#!/usr/bin/env bash
# Races with other software: 400 foreign veths are created in the host
# namespace while a 300-namespace apply runs, taking ifindexes netd picks
# for its own veths. The apply exits 0, an immediate plan is empty, every
# namespace's links are right, and the 400 foreign veths are untouched.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq nft timeout

N=300
FOREIGN=400
cfg=$T/race.toml
"$ITEST_DIR/gen-config.sh" "$N" >"$cfg"

# A bounded loop of foreign link creations, started with the apply.
foreign() {
  local i
  for ((i = 1; i <= FOREIGN; i++)); do
    ip link add "r$i" type veth peer name "r${i}p" || echo "r$i failed" >&2
  done
}

step "apply $N namespaces while another program adds $FOREIGN veths"
foreign 2>"$T/foreign.err" &
loop=$!
on_exit "kill $loop 2>/dev/null || true"
netd_ok -v apply -c "$cfg"
wait "$loop" || fail "the foreign loop failed: $(cat "$T/foreign.err")"
[[ ! -s $T/foreign.err ]] || fail "foreign veths could not be made: $(cat "$T/foreign.err")"

retried=$(grep -c "letting the kernel choose" "$T/err" || true)
note "applies that met a taken ifindex and let the kernel choose: $retried"

step "an immediate plan is empty"
netd_ok plan -c "$cfg"
assert_eq "$(trim "$OUT")" "no changes" "plan right after the apply"

step "every namespace's links are right"
assert_eq "$(netns_count)" "$N" "pinned namespaces"
for ((i = 1; i <= N; i++)); do
  l=$(ip -n "ns$i" -j link show dev eth0) || fail "ns$i has no eth0"
  jq -e '.[0] | (.flags | index("UP")) and (.ifalias // "" | startswith("netd:"))' <<<"$l" >/dev/null ||
    fail "ns$i/eth0 is not up and marked: $l"
  a=$(ip -n "ns$i" -j addr show dev eth0)
  want="10.88.$((i / 250)).$((i % 250 + 2))"
  jq -e --arg a "$want" '[.[0].addr_info[] | select(.family == "inet") | .local] == [$a]' <<<"$a" >/dev/null ||
    fail "ns$i/eth0 does not have exactly $want: $a"
  r=$(ip -n "ns$i" -j route show default)
  jq -e '.[0].gateway == "10.88.0.1"' <<<"$r" >/dev/null || fail "ns$i has no default route: $r"
done
ports=$(bridge_ports br0 | grep -c . || true)
assert_eq "$ports" "$N" "ports of br0"
marked=$(ip -j link show master br0 | jq '[.[] | select((.ifalias // "") | startswith("netd:"))] | length')
assert_eq "$marked" "$N" "br0 ports marked as netd's"

step "the $FOREIGN foreign veths are untouched"
foreign_links=$(ip -j link show | jq -c '[.[] | select(.ifname | test("^r[0-9]+p?$"))]')
assert_eq "$(jq length <<<"$foreign_links")" $((2 * FOREIGN)) "foreign veth ends"
assert_json "$foreign_links" 'all(.[]; (.ifalias // "") == "" and .master == null and .operstate == "DOWN")' \
  "foreign veths: no mark, no bridge, still down"

step "a re-apply changes nothing and leaves them alone"
assert_converged "$cfg"
netd_ok destroy --all
assert_eq "$(ip -j link show | jq '[.[] | select(.ifname | test("^r[0-9]+p?$"))] | length')" \
  $((2 * FOREIGN)) "foreign veth ends after destroy --all"
