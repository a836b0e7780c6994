#!/usr/bin/env bash
# A hostile local user and leftovers: a tampered state file (path traversal,
# symlinks at the state file, the lock and the old temporary name), a state
# directory owned by someone else or writable by others, umask 000, a stale
# name re-created by someone else, a symlink, directory or file at a pin
# path, a namespace that existed before netd, and an admin's own
# `table inet netd`. Each gives a clear error, and no foreign file, mount,
# namespace or table changes.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq nft

cfg=$T/web.toml
cat >"$cfg" <<'TOML'
[bridge.br-h]
addresses = ["10.66.0.1/24"]

[namespace.web]
gateway = ["10.66.0.1"]
sysctl = { "net.ipv4.ip_forward" = 1 }

[[namespace.web.interface]]
name = "eth0"
kind = "veth"
bridge = "br-h"
addresses = ["10.66.0.2/24"]

[[namespace.web.publish]]
port = 8080
to_port = 80
TOML

victim=$T/victim
reset_victim() { echo precious >"$victim"; }
victim_intact() { assert_eq "$(cat "$victim")" precious "the victim file"; }
clean() {
  "$NETD" --wait 5 destroy --all >/dev/null 2>&1 || true
  rm -rf "$STATE_DIR"
}
mounts_of() { awk -v p="$1" '$5 == p' /proc/self/mountinfo | wc -l; }

step "umask 000: the state directory is 0700, its files 0600"
(umask 000 && "$NETD" apply -c "$cfg" >/dev/null)
assert_eq "$(stat -c %a "$STATE_DIR")" 700 "mode of $STATE_DIR"
assert_eq "$(stat -c %a "$STATE_DIR/state.json")" 600 "mode of state.json"
assert_eq "$(stat -c %a "$STATE_DIR/lock")" 600 "mode of the lock"
assert_converged "$cfg"
clean

step "a traversal name in state.json steers nothing"
reset_victim
mkdir -m 700 "$STATE_DIR"
printf '{"namespaces": {"../../%s": "created"}}' "${victim#/}" >"$STATE_DIR/state.json"
netd_exit 1 destroy --all
assert_contains "$ERR" "is corrupt" "destroy --all with a tampered state"
assert_contains "$ERR" "not a valid namespace name"
victim_intact
netd_exit 1 apply -c "$cfg"
assert_eq "$(netns_entries)" "" "namespaces after refusing a tampered state"
clean

step "symlinks at the state file, the lock and the old temporary name are never followed"
reset_victim
mkdir -m 700 "$STATE_DIR"
ln -s "$victim" "$STATE_DIR/state.json"
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "symlink"
victim_intact
rm "$STATE_DIR/state.json" "$STATE_DIR/lock"
ln -s "$victim" "$STATE_DIR/lock"
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "symlink"
victim_intact
rm "$STATE_DIR/lock"
ln -s "$victim" "$STATE_DIR/.state.json.tmp"
netd_ok apply -c "$cfg"
victim_intact
[[ -L $STATE_DIR/.state.json.tmp ]] || fail "the planted symlink was replaced"
clean

step "a state directory owned by another user, or writable by others, is refused"
mkdir -m 700 "$STATE_DIR"
chown 65534 "$STATE_DIR"
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "owned by uid 65534"
assert_eq "$(netns_entries)" "" "namespaces after refusing the state dir"
chown 0 "$STATE_DIR"
chmod 0777 "$STATE_DIR"
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "lets group or others write"
netd_exit 1 status
assert_contains "$ERR" "lets group or others write"
clean

step "a stale name re-created by someone else is never touched"
netd_ok apply -c "$cfg"
umount "$NETNS_DIR/web"
rm "$NETNS_DIR/web"
ip netns add web
foreign_id=$(netns_id web)
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "re-created"
assert_contains "$ERR" "nothing was changed"
assert_eq "$(ip -n web -j link show | jq -r '.[].ifname' | tr '\n' ' ')" "lo " "links in the foreign web"
netd_ok destroy --all
assert_eq "$(netns_id web)" "$foreign_id" "the foreign web after destroy --all"
assert_eq "$(mounts_of "$NETNS_DIR/web")" 1 "mounts of the foreign pin"
ip netns del web
clean

step "a symlink, a directory, a file at a pin path: conflicts, nothing changes"
reset_victim
mkdir -p "$NETNS_DIR"
ln -s "$victim" "$NETNS_DIR/web"
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "is a symlink"
victim_intact
assert_eq "$(mounts_of "$victim")" 0 "mounts on the symlink's target"
assert_eq "$(netd_links)" "" "links after a refused apply"
rm "$NETNS_DIR/web"
mkdir "$NETNS_DIR/web"
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "is a directory"
rmdir "$NETNS_DIR/web"
echo data >"$NETNS_DIR/web"
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "is a non-empty file"
: >"$NETNS_DIR/web"
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "empty file that netd did not create"
assert_eq "$(mounts_of "$NETNS_DIR/web")" 0 "mounts on the empty file"
rm "$NETNS_DIR/web"
clean

step "a namespace that existed before netd: a conflict, unless adopt = true"
ip netns add web
ip -n web link set lo up
ip -n web route add 192.0.2.0/24 dev lo proto static
ip netns exec web sysctl -qw net.ipv4.ip_forward=0
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "adopt = true"
sed 's/^\[namespace.web\]$/[namespace.web]\nadopt = true/' "$cfg" >"$T/adopt.toml"
netd_ok apply -c "$T/adopt.toml"
assert_converged "$T/adopt.toml"
assert_eq "$(ip netns exec web sysctl -n net.ipv4.ip_forward)" 1 "ip_forward in the adopted web"
assert_eq "$(jq -r '.namespaces.web.origin' "$STATE_DIR/state.json")" adopted "origin in the state"
netd_ok destroy --all
[[ -e $NETNS_DIR/web ]] || fail "destroy --all removed the adopted namespace"
assert_eq "$(ip netns exec web sysctl -n net.ipv4.ip_forward)" 0 "ip_forward restored on release"
ip -n web route show 192.0.2.0/24 | grep -q 'proto static' || fail "the admin's route in the adopted web is gone"
link_exists web eth0 && fail "netd's eth0 left in the released web"
ip netns del web
clean

step "an admin's own table inet netd is a conflict, and never deleted"
nft add table inet netd
nft add chain inet netd mine '{ type filter hook input priority 0; policy accept; }'
nft add rule inet netd mine tcp dport 22 accept
before=$(nft list table inet netd)
netd_exit 1 apply -c "$cfg"
assert_contains "$ERR" "a table inet netd that netd did not create exists; rename or remove it"
assert_eq "$(nft list table inet netd)" "$before" "the admin's table after apply"
assert_eq "$(netns_entries)" "" "namespaces after the refused apply"
netd_ok destroy --all
assert_eq "$(nft list table inet netd)" "$before" "the admin's table after destroy --all"
nft delete table inet netd

step "a table netd made and someone flushed is still netd's"
netd_ok apply -c "$cfg"
nft flush table inet netd
netd_ok apply -c "$cfg"
assert_converged "$cfg"
