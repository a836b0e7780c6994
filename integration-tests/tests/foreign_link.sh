#!/usr/bin/env bash
# A link netd does not own, named like one the config wants, is an error that
# names the link; netd changes nothing: the foreign link keeps its ifindex, has
# no alias and no addresses added, and no namespace is created.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq

# assert_untouched NAME IFINDEX
assert_untouched() {
  local j
  j=$(link_json - "$1")
  assert_json "$j" ".ifindex == $2" "ifindex of foreign $1"
  assert_json "$j" '(.ifalias // "") == ""' "ifalias of foreign $1"
  assert_eq "$(global_addrs - "$1" | tr '\n' ' ')" "" "addresses on foreign $1"
  assert_json "$j" '(.flags | index("UP")) == null' "foreign $1 still down"
  assert_eq "$(netns_count)" 0 "entries in $NETNS_DIR"
  assert_eq "$(netd_links | tr '\n' ' ')" "" "links with a netd: alias"
  note "foreign $1 untouched, nothing created"
}

step "a foreign bridge named like the config's bridge"
ip link add br-demo type bridge
idx=$(jqr "$(link_json - br-demo)" .ifindex)
netd_exit '1|2' apply -c "$TWO_NS"
assert_contains "$OUT$ERR" "br-demo" "apply's error"
assert_untouched br-demo "$idx"
netd_exit '0|1|2' plan -c "$TWO_NS"
assert_contains "$OUT$ERR" "br-demo" "plan's output"
assert_untouched br-demo "$idx"
ip link del br-demo

step "a foreign veth named like the config's host_name"
ip link add veth-db type veth peer name foreign-peer
idx=$(jqr "$(link_json - veth-db)" .ifindex)
netd_exit '1|2' apply -c "$TWO_NS"
assert_contains "$OUT$ERR" "veth-db" "apply's error"
assert_untouched veth-db "$idx"
link_exists - foreign-peer || fail "the foreign veth's peer is gone"
ip link del veth-db

step "with the conflicts gone, apply works"
netd_ok apply -c "$TWO_NS"
check_two_namespaces
assert_converged "$TWO_NS"
