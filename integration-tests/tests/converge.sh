#!/usr/bin/env bash
# One apply converges: the README's reference config; a readdressed interface
# keeps its default routes throughout the apply (make-before-break, watched
# with `ip monitor`); a bridge with a larger MTU than its ports gets it; a
# stray IPv6 link-local address and a changed addr_gen_mode are repaired.
# After each single apply, `plan --exit-code` exits 0 with "no changes".
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq nft timeout

# plan_empty CONFIG WHAT: plan has nothing left to do after one apply.
plan_empty() {
  netd_ok plan -c "$1" --exit-code
  assert_eq "$(trim "$OUT")" "no changes" "plan after one apply ($2)"
}

step "the README's reference config converges in one apply"
readme_cfg=$T/readme.toml
# The first toml block after "## Config reference".
awk '/^## Config reference/ {ref = 1} ref && /^```toml/ {on = 1; next} on && /^```/ {exit} on' \
  "$ROOT/README.md" >"$readme_cfg"
assert_contains "$(cat "$readme_cfg")" "[namespace.web]" "config extracted from README.md"
netd_ok check -c "$readme_cfg"
netd_ok apply -c "$readme_cfg"
plan_empty "$readme_cfg" "README reference config"
netd_ok destroy --all

# One namespace on a jumbo bridge; its veth keeps the default MTU and has no
# IPv6 link-local address.
cfg=$T/converge.toml
write_cfg() { # V4_HOST V6_HOST
  cat >"$cfg" <<EOF
[bridge.br-conv]
addresses = ["10.89.0.1/24", "fd89::1/64"]
mtu = 9000

[namespace.app]
gateway = ["10.89.0.1", "fd89::1"]

[[namespace.app.interface]]
name = "eth0"
bridge = "br-conv"
addresses = ["10.89.0.$1/24", "fd89::$2/64"]
ipv6_link_local = false
EOF
}

step "a bridge with mtu 9000 over ports with the default MTU: one apply"
write_cfg 2 2
netd_ok apply -c "$cfg"
assert_json "$(link_json - br-conv)" '.mtu == 9000' "br-conv MTU after one apply"
assert_json "$(link_json app eth0)" '.mtu == 1500' "app/eth0 keeps the default MTU"
assert_eq "$(bridge_ports br-conv | wc -l)" 1 "ports of br-conv"
plan_empty "$cfg" "bridge MTU"
assert_converged "$cfg"

step "readdress app/eth0 while watching routes and addresses"
assert_route app default 10.89.0.1 eth0
assert_route app default fd89::1 eth0
write_cfg 12 12
monitor_log=$T/monitor.log
timeout 60 ip -n app monitor route address >"$monitor_log" 2>&1 &
monitor_pid=$!
on_exit "kill $monitor_pid 2>/dev/null || true"
sleep 0.5 # let the monitor subscribe before the apply starts
netd_ok apply -c "$cfg"
sleep 0.5 # let the monitor print the last events
kill "$monitor_pid" 2>/dev/null || true
wait "$monitor_pid" 2>/dev/null || true
note "ip monitor saw:"
sed 's/^/   | /' "$monitor_log" >&2
assert_addr app eth0 10.89.0.12/24
assert_addr app eth0 fd89::12/64
assert_eq "$(global_addrs app eth0 | grep -cE '^(10\.89\.0\.2|fd89::2)/' || true)" 0 "old addresses left on app/eth0"
assert_route app default 10.89.0.1 eth0
assert_route app default fd89::1 eth0
grep -qE '^Deleted .* inet 10\.89\.0\.2/24' "$monitor_log" || fail "ip monitor did not see 10.89.0.2/24 go"
assert_contains "$(cat "$monitor_log")" "inet 10.89.0.12/24" "monitor: the new address comes"
if grep -E '^Deleted .*default' "$monitor_log"; then
  fail "the default route was deleted during the apply"
fi
plan_empty "$cfg" "readdressed interface"

step "a stray IPv6 link-local address and addr_gen_mode changed by hand"
ip -n app addr add fe80::dead/64 dev eth0 nodad
ip -n app link set eth0 addrgenmode eui64
note "added fe80::dead/64 to app/eth0, set its addrgenmode eui64"
netd_exit 3 plan -c "$cfg" --exit-code
assert_contains "$OUT" "fe80::dead/64" "plan names the stray link-local address"
assert_contains "$OUT" "no ipv6 link-local" "plan names the addr_gen_mode repair"
netd_ok apply -c "$cfg"
link_local() { ipn app -6 addr show dev eth0 scope link | jq -r '.[0].addr_info[]?.local'; }
assert_eq "$(link_local | tr '\n' ' ')" "" "link-local addresses on app/eth0 after apply"
assert_json "$(link_json app eth0)" '.inet6_addr_gen_mode == "none"' "addr_gen_mode of app/eth0 after apply"
plan_empty "$cfg" "link-local repaired"
assert_converged "$cfg"
