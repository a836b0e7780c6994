#!/usr/bin/env bash
# `isolate = true` on a bridge: its namespaces reach the host (the bridge
# address) but not each other; turning it off lets them talk again, and the
# port flags converge (re-apply makes no change).
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip ping jq bridge

write_config() { # ISOLATE
  cat >"$T/isolate.toml" <<TOML
[bridge.br-iso]
addresses = ["10.88.80.1/24"]
isolate = $1

[namespace.a]
[[namespace.a.interface]]
name = "eth0"
bridge = "br-iso"
addresses = ["10.88.80.2/24"]

[namespace.b]
[[namespace.b.interface]]
name = "eth0"
bridge = "br-iso"
addresses = ["10.88.80.3/24"]
TOML
}

write_config true
netd_ok apply -c "$T/isolate.toml"
assert_converged "$T/isolate.toml"
for port in $(bridge_ports br-iso); do
  flags=$(bridge -j -d link show dev "$port" | jq -c '.[0] | {isolated, hairpin}')
  assert_eq "$flags" '{"isolated":true,"hairpin":true}' "port flags of $port"
done
ns_ping a 10.88.80.1
ns_no_ping a 10.88.80.3

step "isolation off: the namespaces reach each other"
write_config false
netd_ok apply -c "$T/isolate.toml"
assert_contains "$OUT" "hairpin port" "apply output"
assert_converged "$T/isolate.toml"
ns_ping a 10.88.80.3
