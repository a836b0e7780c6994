#!/usr/bin/env bash
# The generated configs work as written, over BGP and then over OSPF:
# `netd run` supervises BIRD (one service) and FRR (another: zebra, bgpd or
# ospfd and ospf6d, bfdd) with exactly the process entries that the
# generated files' headers print, each with its generated file; every
# sidecar brings up its sessions or adjacencies (v4 and v6) and BFD with an
# upstream BIRD, announces the prefixes while netd's announce routes are
# there (table 100 proto 201; FRR: IPv6 in main, prefixes as AnyIP routes)
# and no other route of the table, and withdraws them when the routes go.
# The announce routes are added by hand: the run config has no [anycast]
# section, so only the sidecars are tested.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
FRR_LIB=/usr/lib/frr
export PATH=$PATH:$FRR_LIB
need_tool ip jq bird birdc zebra bgpd bfdd

# The generated files go to /etc/netd/, as their headers say: a private /etc.
private_etc
mkdir -p /etc/netd
install -d -o frr -g frr /run/frr

V4=203.0.113.53/32
V6=2001:db8:53::53/128
# Each service on its own link: svcb on .0/31 and :1::/64, svcf on .2/31
# and :2::/64; the upstream is the even address / ::1.
num() { [[ $1 == b ]] && echo 1 || echo 2; }
svc4() { echo "198.51.100.$((2 * $(num "$1") - 1))"; }
up4() { echo "198.51.100.$((2 * $(num "$1") - 2))"; }
svc6() { echo "2001:db8:0:$(num "$1")::2"; }
up6() { echo "2001:db8:0:$(num "$1")::1"; }

base=$(
  for s in b f; do
    cat <<TOML
[bridge.br-$s]

[namespace.svc$s]
$([[ $s == b ]] && echo "loopback = [\"$V4\", \"$V6\"]")
[[namespace.svc$s.interface]]
name = "eth0"
bridge = "br-$s"
addresses = ["$(svc4 $s)/31", "$(svc6 $s)/64"]

TOML
  done
)
anycast() { # NAME NS SPEAKER S
  cat <<TOML
[anycast.$1]
namespace = "$2"
prefixes = ["$V4", "$V6"]
speaker = "$3"

[anycast.$1.bgp]
local_as = 65001
neighbor_as = 65000
neighbors = ["$(up4 "$4")", "$(up6 "$4")"]

[anycast.$1.ospf]
area = 0
interfaces = ["eth0"]

[[anycast.$1.check]]
kind = "tcp"
port = 53

TOML
}
printf '%s\n\n%s\n%s\n' "$base" "$(anycast dnsb svcb bird b)" "$(anycast dnsf svcf frr f)" >"$T/gen.toml"

# run_config PROTO: generate both configs into /etc/netd/ and write the run
# config, the namespaces plus the headers' process entries, to $T/run.toml.
run_config() {
  local proto=$1 want
  netd_ok anycast config dnsb --bird "--$proto" -c "$T/gen.toml"
  printf '%s\n' "$OUT" >/etc/netd/anycast-dnsb.conf
  netd_ok anycast config dnsf --frr "--$proto" -c "$T/gen.toml"
  printf '%s\n' "$OUT" >/etc/netd/anycast-dnsf.conf
  chmod 644 /etc/netd/anycast-dns?.conf
  {
    printf '%s\n\n' "$base"
    # The header's TOML, verbatim: "#   [[namespace..." / "!   name = ...".
    sed -n 's/^[#!]   \(\[\[namespace\|name = \|command = \|args = \|capabilities = \)/\1/p' \
      /etc/netd/anycast-dnsb.conf /etc/netd/anycast-dnsf.conf
  } >"$T/run.toml"
  want=$([[ $proto == bgp ]] && echo 4 || echo 5)
  assert_eq "$(grep -c 'process\]\]$' "$T/run.toml")" "$want" "process entries in the headers ($proto)"
  note "$(grep '^command' "$T/run.toml" | tr '\n' ' ')"
  netd_ok check -c "$T/run.toml"
}

# start_upstream S PROTO: namespace upS on br-S, with a BIRD of AS 65000
# that puts what it learns in its kernel table (ECMP knobs of the research
# notes included), and BFD at 100 ms × 3.
start_upstream() {
  local s=$1 proto=$2
  ip netns add "up$s"
  ip -n "up$s" link set lo up
  ip link add "up$s-p" type veth peer name eth0 netns "up$s"
  ip link set "up$s-p" master "br-$s" up
  ip -n "up$s" addr add "$(up4 "$s")/31" dev eth0
  ip -n "up$s" addr add "$(up6 "$s")/64" dev eth0 nodad
  ip -n "up$s" link set eth0 up
  {
    cat <<BIRD
router id $(up4 "$s");
protocol device { }
protocol kernel k4 { merge paths on; ipv4 { import none; export all; }; }
protocol kernel k6 { merge paths on; ipv6 { import none; export all; }; }
protocol bfd { interface "eth0" { interval 100 ms; multiplier 3; }; }
BIRD
    if [[ $proto == bgp ]]; then
      cat <<BIRD
template bgp svc { local as 65000; connect delay time 1; connect retry time 1;
  error wait time 1, 2; error forget time 1; bfd on; }
protocol bgp s4 from svc { local $(up4 "$s"); neighbor $(svc4 "$s") as 65001; ipv4 { import all; export none; }; }
protocol bgp s6 from svc { local $(up6 "$s"); neighbor $(svc6 "$s") as 65001; ipv6 { import all; export none; }; }
BIRD
    else
      for v in 2 3; do
        cat <<BIRD
protocol ospf v$v s$((v + v)) { ecmp on; merge external on; ipv$((v + v)) { import all; export none; };
  area 0 { interface "eth0" { type ptp; hello 1; dead count 3; bfd on; }; }; }
BIRD
      done
    fi
  } >"$T/up$s.conf"
  ip netns exec "up$s" bird -c "$T/up$s.conf" -s "$T/up$s.ctl" -P "$T/up$s.pid"
  on_exit "kill \$(cat $T/up$s.pid)"
}

stop_upstream() { # S
  kill "$(cat "$T/up$1.pid")"
  ip netns del "up$1"
}

up_birdc() { birdc -s "$T/up$1.ctl" "${@:2}"; }
# up S PROTO FAMILY: the session (BGP) or adjacency (OSPF) of that family is up.
up() {
  if [[ $2 == bgp ]]; then
    up_birdc "$1" show protocols "s$3" | grep -q Established
  else
    up_birdc "$1" show ospf neighbors "s$3" | grep -q Full
  fi
}
bfd_up() { up_birdc "$1" show bfd sessions | grep -E "^$2 " | grep -q ' Up '; }
upstream_has() { # S PREFIX
  local fam=-4
  [[ $2 == *:* ]] && fam=-6
  [[ -n $(ip -n "up$1" "$fam" route show "$2") ]]
}

announce() { # ADD|DEL: netd's announce routes of both services
  local op=$1
  ip -n svcb route "$op" "$V4" dev lo table 100 proto 201
  ip -n svcb route "$op" "$V6" dev lo table 100 proto 201
  ip -n svcf route "$op" "$V4" dev lo table 100 proto 201
  # FRR announces IPv6 from the main table.
  ip -n svcf route "$op" "$V6" dev lo proto 201
}

for proto in bgp ospf; do
  step "$proto: generate both configs and build the run config from their headers"
  run_config "$proto"
  start_daemon "$T/run.toml"
  for s in b f; do start_upstream "$s" "$proto"; done
  wait_dad svcb svcf

  for s in b f; do
    speaker=$([[ $s == b ]] && echo BIRD || echo FRR)
    step "$proto: the $speaker sidecar's sessions and BFD come up"
    wait_for 40 "IPv4 $proto with svc$s" up "$s" "$proto" 4
    wait_for 40 "IPv6 $proto with svc$s" up "$s" "$proto" 6
    wait_for 20 "BFD session with svc$s" bfd_up "$s" "$(svc4 "$s")"
    upstream_has "$s" "$V4" && fail "up$s has $V4 before any announce route"
    upstream_has "$s" "$V6" && fail "up$s has $V6 before any announce route"
  done

  step "$proto: announce: the upstreams learn both prefixes, and only them"
  # FRR serves the prefixes as AnyIP routes (they are not on lo).
  ip -n svcf route replace local "$V4" dev lo table local
  ip -n svcf route replace local "$V6" dev lo table local
  # Another route in table 100, added first, must stay home.
  ip -n svcb route add 192.0.2.99/32 dev lo table 100 proto 201
  ip -n svcf route add 192.0.2.99/32 dev lo table 100 proto 201
  announce add
  for s in b f; do
    wait_for 10 "$V4 at up$s" upstream_has "$s" "$V4"
    wait_for 10 "$V6 at up$s" upstream_has "$s" "$V6"
    note "up$s: $(ip -n "up$s" route show "$V4" | tr '\n' ' ') / $(ip -n "up$s" -6 route show "$V6" | tr '\n' ' ')"
    ! upstream_has "$s" 192.0.2.99/32 || fail "up$s learned 192.0.2.99/32, which is not a prefix of the service"
  done

  step "$proto: withdraw: deleting the announce routes takes the prefixes away"
  announce del
  for s in b f; do
    wait_for 10 "withdrawal of $V4 at up$s" eval "! upstream_has $s $V4"
    wait_for 10 "withdrawal of $V6 at up$s" eval "! upstream_has $s $V6"
  done
  note "both sidecars announced and withdrew both prefixes over $proto"

  stop_daemon TERM
  assert_eq "$DAEMON_RC" 0 "netd run exit code"
  for s in b f; do stop_upstream "$s"; done
  netd_ok destroy --all
done
