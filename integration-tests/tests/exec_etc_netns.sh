#!/usr/bin/env bash
# `netd exec NS -- CMD` gives CMD the namespace's view, as `ip netns exec`
# does: each entry of /etc/netns/NS/ in place of the same name in /etc, and a
# /sys that lists the namespace's links. A namespace without such a directory
# sees the host's files; the host's own view never changes; an entry with
# nothing to cover is reported and skipped. netd's supervised processes get
# the same mounts from the same code (integration-tests/tests/processes.sh).
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq

cfg=$T/netd.toml
cat >"$cfg" <<'TOML'
[bridge.br-e]
addresses = ["10.88.91.1/24"]

[namespace.e1]
[[namespace.e1.interface]]
name = "svc0"
bridge = "br-e"
addresses = ["10.88.91.2/24"]

[namespace.e2]
TOML
netd_ok apply -c "$cfg"

step "/etc/netns/e1 in a private /etc"
private_etc
mkdir -p /etc/netns/e1
echo "nameserver 192.0.2.53 # e1" >/etc/netns/e1/resolv.conf
echo "192.0.2.7 e1.example" >/etc/netns/e1/hosts
echo "nothing to cover" >/etc/netns/e1/no-such-file-in-etc

step "e1 sees its own resolv.conf and hosts"
netd_ok exec e1 -- cat /etc/resolv.conf
assert_eq "$OUT" "nameserver 192.0.2.53 # e1" "resolv.conf in e1"
netd_ok exec e1 -- cat /etc/hosts
assert_eq "$OUT" "192.0.2.7 e1.example" "hosts in e1"
assert_contains "$ERR" "cannot bind /etc/netns/e1/no-such-file-in-etc over /etc/no-such-file-in-etc" "warning for an entry with no target"

step "e2 and the host keep the host's"
netd_ok exec e2 -- cat /etc/resolv.conf
assert_eq "$OUT" "nameserver 192.0.2.1 # host" "resolv.conf in e2"
assert_eq "$(cat /etc/resolv.conf)" "nameserver 192.0.2.1 # host" "the host's resolv.conf afterwards"
[[ ! -e /etc/no-such-file-in-etc ]] || fail "a bind target was created on the host"

step "the command is in the namespace, and /sys shows its links"
want=$(stat -L -c %i "$NETNS_DIR/e1")
netd_ok exec e1 -- readlink /proc/self/ns/net
assert_eq "$OUT" "net:[$want]" "network namespace of netd exec e1"
netd_ok exec e1 -- ls /sys/class/net
assert_eq "$(tr '\n' ' ' <<<"$OUT")" "lo svc0 " "/sys/class/net in e1"
assert_not_contains "$(ls /sys/class/net)" "svc0" "/sys/class/net of the host"

step "a missing namespace is a clear error"
netd_exit 1 exec nope -- true
assert_contains "$ERR" "namespace nope does not exist" "netd exec nope"
