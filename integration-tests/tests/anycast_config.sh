#!/usr/bin/env bash
# `netd anycast config` writes configs that the routing daemons accept:
# - the four golden files (BIRD and FRR, BGP and OSPF, IPv4 and IPv6) pass
#   `bird -p -c` and `vtysh -C -f` (exit 0), while a broken copy of each is
#   refused (bird exit 1, vtysh exit 2), so the checks can fail;
# - no IPv6 address family or ospf6 section redistributes a table (FRR 8.4
#   silently moves such a line and what follows to IPv4);
# - FRR daemons started as the file's header says (each `-f FILE`, `-N NS`)
#   each take their own lines from the one file and nothing of the others';
# - the CLI renders the goldens from a TOML config and both examples'
#   services, whose process entries match the ones the header prints;
# - a service that cannot be served so is refused with exit 2 and nothing
#   on stdout.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
FRR_LIB=/usr/lib/frr
export PATH=$PATH:$FRR_LIB
need_tool ip jq bird vtysh zebra bgpd bfdd ospfd ospf6d

GOLDEN=$ROOT/netd/testdata/anycast

# vtysh reads /etc/frr/vtysh.conf (and /etc/frr/NS/ for a pathspace): a
# private copy, so that nothing here depends on or touches the host's.
mkdir "$T/etc-frr"
cp -a /etc/frr/. "$T/etc-frr/"
mount --bind "$T/etc-frr" /etc/frr
# What the frr package's tmpfiles.d makes at boot, in the sandbox's /run.
install -d -o frr -g frr /run/frr
# The daemons read their file as user frr; $T is root's alone.
CONF_DIR=/run/anycast-conf
install -d -m 755 "$CONF_DIR"

bird_check() { # FILE: bird's exit code for the file
  local rc=0
  bird -p -c "$1" >"$T/bird.out" 2>&1 || rc=$?
  _show "  bird| " "$T/bird.out"
  echo "$rc"
}

vtysh_check() { # FILE: vtysh's exit code for the file
  local rc=0
  vtysh -C -f "$1" >"$T/vtysh.out" 2>&1 || rc=$?
  _show "  vtysh| " "$T/vtysh.out"
  echo "$rc"
}

# v6_table_lines FILE: `redistribute table` lines inside an IPv6 address
# family or a `router ospf6` section, with their line numbers.
v6_table_lines() {
  awk '/^ address-family ipv6/ || /^router ospf6/ { v6 = 1; next }
       /^ exit-address-family/ || /^[^ !]/ { v6 = 0 }
       v6 && /redistribute table/ { print NR ": " $0 }' "$1"
}

step "the golden BIRD configs pass bird -p; a broken one does not"
for v in bgp ospf; do
  f=$GOLDEN/bird-$v.conf
  [[ -s $f ]] || fail "$f is missing"
  assert_eq "$(bird_check "$f")" 0 "bird -p -c bird-$v.conf"
  sed 's/{ table anycast4;/{ table nosuch4;/' "$f" >"$T/broken-bird-$v.conf"
  assert_eq "$(bird_check "$T/broken-bird-$v.conf")" 1 "bird -p on bird-$v.conf with an undefined table"
done

step "the golden FRR configs pass vtysh -C; broken ones do not"
for v in bgp ospf; do
  f=$GOLDEN/frr-$v.conf
  [[ -s $f ]] || fail "$f is missing"
  assert_eq "$(vtysh_check "$f")" 0 "vtysh -C -f frr-$v.conf"
  assert_eq "$(v6_table_lines "$f")" "" "redistribute table under IPv6 in frr-$v.conf"
  sed 's/^ip import-table/ip import-tabel/' "$f" >"$T/broken-frr-$v.conf"
  assert_eq "$(vtysh_check "$T/broken-frr-$v.conf")" 2 "vtysh -C on frr-$v.conf with a misspelt command"
done
# The trap of the research notes: under IPv6 the line is not refused where
# it stands, only the next exit-address-family is.
sed 's/^ address-family ipv6 unicast$/&\n  redistribute table 100 route-map ANYCAST-4/' "$GOLDEN/frr-bgp.conf" >"$T/trap.conf"
[[ -n $(v6_table_lines "$T/trap.conf") ]] || fail "the IPv6 check misses a redistribute table under address-family ipv6"
assert_eq "$(vtysh_check "$T/trap.conf")" 2 "vtysh -C with redistribute table under IPv6"
assert_contains "$(cat "$T/vtysh.out")" "exit-address-family" "vtysh's complaint"

# A namespace like the goldens' svc: eth0 on a /31 and a /64.
service_ns() { # NS
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip link add "up-$1" type veth peer name eth0 netns "$1"
  ip link set "up-$1" up
  ip -n "$1" addr add 198.51.100.1/31 dev eth0
  ip -n "$1" addr add 2001:db8:0:1::2/64 dev eth0 nodad
  ip -n "$1" link set eth0 up
}

# start_frr NS FILE DAEMON...: each daemon as the header's process entry
# says, in NS, until its vty socket is there.
start_frr() {
  local ns=$1 file=$2 d
  shift 2
  chmod 644 "$file"
  for d; do
    ip netns exec "$ns" "$FRR_LIB/$d" -N "$ns" -f "$file" -P 0 --log stdout >"$T/$ns-$d.log" 2>&1 &
    on_exit "kill $!"
  done
  for d; do
    wait_for 10 "$d vty socket in /run/frr/$ns" test -S "/run/frr/$ns/$d.vty"
  done
}

running() { # NS DAEMON: that daemon's running config
  vtysh -N "$1" -d "$2" -c 'show running-config' 2>/dev/null
}

# assert_took NS DAEMON LINE...: the daemon's running config has each line.
assert_took() {
  local ns=$1 d=$2 conf l
  shift 2
  conf=$(running "$ns" "$d")
  for l; do
    grep -qxF -- "$l" <<<"$conf" || fail "$d in $ns did not take \`$l\`; it has:
$conf"
  done
}

assert_not_took() { # NS DAEMON TEXT...: no line of its running config contains TEXT
  local ns=$1 d=$2 conf l
  shift 2
  conf=$(running "$ns" "$d")
  for l; do
    ! grep -qF -- "$l" <<<"$conf" || fail "$d in $ns took \`$l\`, which is another daemon's; it has:
$conf"
  done
}

step "zebra, bgpd and bfdd each take their own lines of frr-bgp.conf"
cp "$GOLDEN/frr-bgp.conf" "$CONF_DIR/frr-bgp.conf"
service_ns fbgp
start_frr fbgp "$CONF_DIR/frr-bgp.conf" zebra bgpd bfdd
assert_took fbgp zebra "ip import-table 100"
assert_took fbgp bgpd "router bgp 65001" " bgp router-id 198.51.100.1" " no bgp default ipv4-unicast" \
  " bgp graceful-restart-disable" " neighbor 198.51.100.0 bfd profile fast" \
  " address-family ipv4 unicast" "  redistribute table 100 route-map ANYCAST-4" \
  "  neighbor 198.51.100.0 route-map ANYCAST-4 out" "  neighbor 198.51.100.0 route-map ANYCAST-NONE in" \
  " address-family ipv6 unicast" "  redistribute kernel route-map ANYCAST-6" \
  "  neighbor 2001:db8:0:1::1 activate" "  neighbor 2001:db8:0:1::1 route-map ANYCAST-6 out"
# The IPv6 lines stayed in the IPv6 family.
v6=$(running fbgp bgpd | sed -n '/^ address-family ipv6 unicast$/,/^ exit-address-family$/p')
assert_contains "$v6" "redistribute kernel route-map ANYCAST-6" "bgpd's IPv6 family"
assert_not_contains "$v6" "redistribute table" "bgpd's IPv6 family"
v4=$(running fbgp bgpd | sed -n '/^ address-family ipv4 unicast$/,/^ exit-address-family$/p')
assert_contains "$v4" "redistribute table 100 route-map ANYCAST-4" "bgpd's IPv4 family"
assert_not_contains "$v4" "redistribute kernel" "bgpd's IPv4 family"
assert_not_contains "$v4" "2001:db8:0:1::1" "bgpd's IPv4 family"
assert_took fbgp bfdd "bfd" " profile fast" "  receive-interval 100" "  transmit-interval 100"
assert_not_took fbgp zebra "router bgp" "profile fast"
assert_not_took fbgp bfdd "route-map" "router bgp"

step "zebra, ospfd, ospf6d and bfdd each take their own lines of frr-ospf.conf"
cp "$GOLDEN/frr-ospf.conf" "$CONF_DIR/frr-ospf.conf"
service_ns fospf
start_frr fospf "$CONF_DIR/frr-ospf.conf" zebra ospfd ospf6d bfdd
assert_took fospf zebra "ip import-table 100"
assert_took fospf ospfd "router ospf" " ospf router-id 198.51.100.1" " redistribute table 100 route-map ANYCAST-4" \
  " ip ospf area 0.0.0.0" " ip ospf network point-to-point" " ip ospf hello-interval 1" \
  " ip ospf dead-interval 3" " ip ospf bfd profile fast"
assert_not_took fospf ospfd "redistribute kernel" "ospf6"
assert_took fospf ospf6d "router ospf6" " ospf6 router-id 198.51.100.1" " redistribute kernel route-map ANYCAST-6" \
  " ipv6 ospf6 area 0.0.0.0" " ipv6 ospf6 network point-to-point" " ipv6 ospf6 bfd profile fast"
assert_not_took fospf ospf6d "redistribute table" "ip ospf "
assert_took fospf bfdd " profile fast" "  receive-interval 100"

# ---------------------------------------------------------------- the CLI

step "netd anycast config renders the goldens from a TOML config"
netd_ok anycast config --help
assert_contains "$OUT" "Examples:" "netd anycast config --help"
write_service() { # FILE SPEAKER LOOPBACK_LINE
  cat >"$1" <<TOML
[bridge.br-up]
addresses = ["198.51.100.0/31", "2001:db8:0:1::1/64"]

[namespace.svc]
$3
[[namespace.svc.interface]]
name = "eth0"
bridge = "br-up"
addresses = ["198.51.100.1/31", "2001:db8:0:1::2/64"]

[anycast.dns]
namespace = "svc"
prefixes = ["203.0.113.53/32", "2001:db8:53::53/128"]
speaker = "$2"

[anycast.dns.bgp]
local_as = 65001
neighbor_as = 65000
neighbors = ["198.51.100.0", "2001:db8:0:1::1"]

[anycast.dns.ospf]
area = 0
interfaces = ["eth0"]

[[anycast.dns.check]]
kind = "dns"
name = "ns.example"
TOML
}
write_service "$T/bird.toml" bird 'loopback = ["203.0.113.53/32", "2001:db8:53::53/128"]'
write_service "$T/frr.toml" frr ''
for daemon in bird frr; do
  for v in bgp ospf; do
    netd_ok anycast config dns "--$daemon" "--$v" -c "$T/$daemon.toml"
    printf '%s\n' "$OUT" >"$T/cli-$daemon-$v.conf"
    diff -u "$GOLDEN/$daemon-$v.conf" "$T/cli-$daemon-$v.conf" >&2 ||
      fail "netd anycast config dns --$daemon --$v differs from the golden file"
  done
done
netd_ok anycast config dns --bird -c "$T/bird.toml"
assert_eq "$OUT" "$(cat "$T/cli-bird-bgp.conf")" "the default protocol (BGP)"

step "the examples' services render, validate, and run as the header says"
# header_runs FILE COMMENT: the header's process lines (command/args/caps).
header_runs() { sed -n "s/^$2   \(command\|args\|capabilities\) = /\1 = /p" "$1"; }
example_has_runs() { # CONFIG_FILE TOML
  local l
  while IFS= read -r l; do
    grep -qxF -- "$l" "$2" || fail "$(basename "$2") lacks \`$l\`, which the generated header prescribes"
  done < <(header_runs "$1" "$3")
}
netd_ok anycast config web --bird -c "$EXAMPLES/anycast-bird.toml"
printf '%s\n' "$OUT" >"$T/web.conf"
assert_eq "$(bird_check "$T/web.conf")" 0 "bird -p on the anycast-bird.toml service"
example_has_runs "$T/web.conf" "$EXAMPLES/anycast-bird.toml" '#'
for v in bgp ospf; do
  netd_ok anycast config web6 --frr "--$v" -c "$EXAMPLES/anycast-frr.toml"
  printf '%s\n' "$OUT" >"$T/web6-$v.conf"
  assert_eq "$(vtysh_check "$T/web6-$v.conf")" 0 "vtysh -C on the anycast-frr.toml service ($v)"
  assert_eq "$(v6_table_lines "$T/web6-$v.conf")" "" "redistribute table under IPv6 ($v)"
done
example_has_runs "$T/web6-bgp.conf" "$EXAMPLES/anycast-frr.toml" '!'

step "what cannot work is refused: exit 2, nothing on stdout"
for args in "nosuch --bird -c $T/bird.toml" "dns --frr -c $T/bird.toml" "dns --bird -c $T/frr.toml" \
  "dns --bird --frr -c $T/bird.toml" "dns -c $T/bird.toml"; do
  # shellcheck disable=SC2086 # word splitting wanted
  netd_exit 2 anycast config $args
  assert_eq "$OUT" "" "stdout of netd anycast config $args"
  [[ -n $ERR ]] || fail "netd anycast config $args exited 2 without a message"
done
sed '/^\[anycast.dns.ospf\]/,/^interfaces/d' "$T/bird.toml" >"$T/no-ospf.toml"
netd_exit 2 anycast config dns --bird --ospf -c "$T/no-ospf.toml"
assert_eq "$OUT" "" "stdout without [anycast.dns.ospf]"
assert_contains "$ERR" "[anycast.dns.ospf]" "the message without an OSPF section"
