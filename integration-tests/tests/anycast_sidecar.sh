#!/usr/bin/env bash
# The generated configs work as written: `netd run` supervises BIRD (one
# service) and zebra/bgpd/bfdd (another) with exactly the process entries
# that the generated files' headers print, each with its generated file;
# every sidecar brings up its BGP sessions (v4 and v6) and BFD with an
# upstream BIRD, and announces a prefix while netd's announce route is there
# (table 100 proto 201; FRR: IPv6 in main, prefixes as AnyIP routes), and
# withdraws it when the route goes. The announce routes are added by hand:
# the run config has no [anycast] section, so only the sidecars are tested.
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

[[anycast.$1.check]]
kind = "tcp"
port = 53

TOML
}
printf '%s\n\n%s\n%s\n' "$base" "$(anycast dnsb svcb bird b)" "$(anycast dnsf svcf frr f)" >"$T/gen.toml"

step "generate both configs and build the run config from their headers"
netd_ok anycast config dnsb --bird -c "$T/gen.toml"
printf '%s\n' "$OUT" >/etc/netd/anycast-dnsb.conf
netd_ok anycast config dnsf --frr -c "$T/gen.toml"
printf '%s\n' "$OUT" >/etc/netd/anycast-dnsf.conf
chmod 644 /etc/netd/anycast-dns?.conf
{
  printf '%s\n\n' "$base"
  # The header's TOML, verbatim: "#   [[namespace..." / "!   name = ...".
  sed -n 's/^[#!]   \(\[\[namespace\|name = \|command = \|args = \|capabilities = \)/\1/p' \
    /etc/netd/anycast-dnsb.conf /etc/netd/anycast-dnsf.conf
} >"$T/run.toml"
note "$(grep -c 'process\]\]$' "$T/run.toml") process entries from the headers"
assert_eq "$(grep -c 'process\]\]$' "$T/run.toml")" 4 "process entries (bird; zebra, bgpd, bfdd)"
netd_ok check -c "$T/run.toml"

step "an upstream BIRD (AS 65000) on each service's bridge"
for s in b f; do
  ip netns add "up$s"
  ip -n "up$s" link set lo up
done
start_upstream() { # S
  local s=$1
  ip link add "up$s-p" type veth peer name eth0 netns "up$s"
  ip link set "up$s-p" master "br-$s" up
  ip -n "up$s" addr add "$(up4 "$s")/31" dev eth0
  ip -n "up$s" addr add "$(up6 "$s")/64" dev eth0 nodad
  ip -n "up$s" link set eth0 up
  cat >"$T/up$s.conf" <<BIRD
router id $(up4 "$s");
protocol device { }
protocol kernel k4 { ipv4 { import none; export all; }; }
protocol kernel k6 { ipv6 { import none; export all; }; }
protocol bfd { interface "eth0" { interval 100 ms; multiplier 3; }; }
template bgp svc { local as 65000; connect delay time 1; connect retry time 1;
  error wait time 1, 2; error forget time 1; bfd on; }
protocol bgp s4 from svc { local $(up4 "$s"); neighbor $(svc4 "$s") as 65001; ipv4 { import all; export none; }; }
protocol bgp s6 from svc { local $(up6 "$s"); neighbor $(svc6 "$s") as 65001; ipv6 { import all; export none; }; }
BIRD
  ip netns exec "up$s" bird -c "$T/up$s.conf" -s "$T/up$s.ctl" -P "$T/up$s.pid"
  on_exit "kill \$(cat $T/up$s.pid)"
}

start_daemon "$T/run.toml"
for s in b f; do start_upstream "$s"; done
wait_dad svcb svcf

up_birdc() { birdc -s "$T/up$1.ctl" "${@:2}"; }
established() { up_birdc "$1" show protocols "$2" | grep -q Established; }
bfd_up() { up_birdc "$1" show bfd sessions | grep -E "^$2 " | grep -q ' Up '; }
upstream_has() { # S PREFIX
  local fam=-4
  [[ $2 == *:* ]] && fam=-6
  [[ -n $(ip -n "up$1" "$fam" route show "$2") ]]
}

for s in b f; do
  speaker=$([[ $s == b ]] && echo BIRD || echo FRR)
  step "the $speaker sidecar's sessions come up"
  wait_for 30 "IPv4 session from svc$s" established "$s" s4
  wait_for 30 "IPv6 session from svc$s" established "$s" s6
  wait_for 20 "BFD session with svc$s" bfd_up "$s" "$(svc4 "$s")"
  note "$(up_birdc "$s" show protocols | grep -E '^s[46] ' | tr -s ' ' | tr '\n' ';')"
  upstream_has "$s" "$V4" && fail "up$s has $V4 before any announce route"
  upstream_has "$s" "$V6" && fail "up$s has $V6 before any announce route"
done

step "announce: the upstream learns both prefixes, and only them"
# Another route in table 100, added first, must stay home.
ip -n svcb route add 192.0.2.99/32 dev lo table 100 proto 201
ip -n svcf route add 192.0.2.99/32 dev lo table 100 proto 201
ip -n svcb route add "$V4" dev lo table 100 proto 201
ip -n svcb route add "$V6" dev lo table 100 proto 201
# FRR: the prefixes are AnyIP routes, and IPv6 is announced from main.
ip -n svcf route add local "$V4" dev lo table local
ip -n svcf route add local "$V6" dev lo table local
ip -n svcf route add "$V4" dev lo table 100 proto 201
ip -n svcf route add "$V6" dev lo proto 201
for s in b f; do
  wait_for 10 "$V4 at up$s" upstream_has "$s" "$V4"
  wait_for 10 "$V6 at up$s" upstream_has "$s" "$V6"
  note "up$s: $(ip -n "up$s" route show "$V4" | tr '\n' ' ') / $(ip -n "up$s" -6 route show "$V6" | tr '\n' ' ')"
done
for s in b f; do
  ! upstream_has "$s" 192.0.2.99/32 || fail "up$s learned 192.0.2.99/32, which is not a prefix of the service"
done

step "withdraw: deleting the announce routes takes the prefixes away"
ip -n svcb route del "$V4" dev lo table 100 proto 201
ip -n svcb route del "$V6" dev lo table 100 proto 201
ip -n svcf route del "$V4" dev lo table 100 proto 201
ip -n svcf route del "$V6" dev lo proto 201
for s in b f; do
  wait_for 10 "withdrawal of $V4 at up$s" eval "! upstream_has $s $V4"
  wait_for 10 "withdrawal of $V6 at up$s" eval "! upstream_has $s $V6"
done
note "both sidecars announced and withdrew both prefixes"

stop_daemon TERM
assert_eq "$DAEMON_RC" 0 "netd run exit code"
