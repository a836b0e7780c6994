# shellcheck shell=bash
# Variables set here are used by the tests that source this file.
# shellcheck disable=SC2034
# The sandbox of the firewall tests (firewall_truth, firewall_diff), sourced
# after lib.sh: a netd namespace `web` behind bridge br-truth that publishes
# TCP and UDP over IPv4 and IPv6, socat services in it, two clients outside
# on two uplinks of the sandbox host, and `probe`, which makes one real,
# bounded connection to a published port.
#
#   fw_sandbox          builds all of it and applies $FW_CFG
#   flow_vars WHO PROTO FAM
#   probe WHO PROTO FAM
#
# WHO is `client` or `client2` (outside), `lo` (the host itself, to its
# loopback address) or `host` (the host itself, to its address on uplink).

FW_CFG=$T/truth.toml
# Host ports of the publishes (8088: not Docker's 8080, whose DNAT in the
# Docker ruleset would compete with netd's).
TCP_PORT=8088
UDP_PORT=5353
# A service of the host's own, where a foreign redirect can send a connection.
HOST_SERVICE_PORT=9999

# probe's bounds: attempts per connection, and seconds to wait for the
# connection (TCP) and for the answer.
PROBE_TRIES=${PROBE_TRIES:-3}
PROBE_WAIT=${PROBE_WAIT:-2}

# UDP probes bind a source port of their own, so that no probe can ride on
# the conntrack entry of an earlier one (there is no conntrack tool to flush
# the table between rulesets). probe uses udp_sport+1 .. udp_sport+PROBE_TRIES;
# whoever starts probes in parallel advances udp_sport between them.
udp_sport=40000

write_fw_cfg() {
  cat >"$FW_CFG" <<'TOML'
[bridge.br-truth]
addresses = ["10.88.70.1/24", "fd88:70::1/64"]

[namespace.web]
gateway = ["10.88.70.1", "fd88:70::1"]

[[namespace.web.interface]]
name = "eth0"
bridge = "br-truth"
addresses = ["10.88.70.2/24", "fd88:70::2/64"]

[[namespace.web.publish]]
port = 8088
to_port = 80

[[namespace.web.publish]]
port = 5353
to_port = 53
proto = "udp"
TOML
}

fw_sandbox() {
  write_fw_cfg
  step "two clients outside, on two uplinks of the sandbox host"
  # client: 192.0.2.100 and 2001:db8:1::100 behind uplink (192.0.2.1,
  # 2001:db8:1::1); forwarding on in the sandbox.
  outside_client client v6
  # client2, on a subnet of its own for rules on the source address:
  # 198.51.100.100 and 2001:db8:2::100 behind uplink2 (198.51.100.1, 2001:db8:2::1).
  ip netns add client2
  ip link add uplink2 type veth peer name eth0 netns client2
  ip addr add 198.51.100.1/24 dev uplink2
  ip addr add 2001:db8:2::1/64 dev uplink2 nodad
  ip link set uplink2 up
  ip -n client2 addr add 198.51.100.100/24 dev eth0
  ip -n client2 addr add 2001:db8:2::100/64 dev eth0 nodad
  ip -n client2 link set eth0 up
  ip -n client2 link set lo up
  ip -n client2 route add default via 198.51.100.1
  ip -n client2 -6 route add default via 2001:db8:2::1
  assert_eq "$(sysctl -n net.ipv4.ip_forward) $(sysctl -n net.ipv6.conf.all.forwarding)" "1 1" "forwarding in the sandbox"

  netd_ok apply -c "$FW_CFG"
  assert_converged "$FW_CFG"

  step "services in web: TCP 80 and UDP 53 (request/response), v4 and v6; one on the host"
  start_services
  on_exit 'kill "${SERVICE_PID[@]}" 2>/dev/null || true'
  sleep 0.5
  wait_dad - web client client2
}

# The services' processes by name (tcp4 tcp6 udp4 udp6 in web; host on the
# host), started by `ip netns exec`, which execs socat: the pid is socat's.
declare -A SERVICE_PID=()
# A UDP service on port 53 answering `web-udp4` or `web-udp6` (argument 4
# or 6) to each datagram.
UDP_SERVICE='
import socket, sys
v6 = sys.argv[1] == "6"
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if v6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::" if v6 else "0.0.0.0", 53))
answer = ("web-udp%s\n" % sys.argv[1]).encode()
while True:
    _, peer = s.recvfrom(2048)
    s.sendto(answer, peer)
'

start_services() {
  ip netns exec web socat TCP4-LISTEN:80,fork,reuseaddr SYSTEM:'echo web-tcp4' &
  SERVICE_PID[tcp4]=$!
  ip netns exec web socat TCP6-LISTEN:80,fork,reuseaddr,ipv6only=1 SYSTEM:'echo web-tcp6' &
  SERVICE_PID[tcp6]=$!
  # The UDP services answer every datagram from one process: socat's
  # UDP-RECVFROM with fork stopped answering now and then over a long run
  # (its parent alive), which made later flows look dropped.
  ip netns exec web python3 -c "$UDP_SERVICE" 4 &
  SERVICE_PID[udp4]=$!
  ip netns exec web python3 -c "$UDP_SERVICE" 6 &
  SERVICE_PID[udp6]=$!
  socat TCP4-LISTEN:$HOST_SERVICE_PORT,fork,reuseaddr SYSTEM:"echo host-$HOST_SERVICE_PORT" &
  SERVICE_PID[host]=$!
}

# services_check WHEN: each service in web answers the host directly (no
# DNAT, so call it with no ruleset but netd's), or the test fails naming it:
# a service that died or hangs would make every later flow to it look
# dropped, whatever the ruleset. Advances udp_sport.
services_check() {
  local f answer bad=() pid
  declare -A got=()
  # One python3 for the four (a socat for UDP waits out its -t after the answer).
  while read -r f answer; do got[$f]=$answer; done < <(python3 - "$udp_sport" <<'PY'
import socket, sys, threading
sport, got = int(sys.argv[1]), {}
def ask(name, fam, kind, addr, port, k):
    try:
        with socket.socket(fam, kind) as s:
            s.settimeout(2)
            if kind == socket.SOCK_DGRAM:
                s.bind(("", sport + k))
                s.sendto(b"ping\n", (addr, port))
                data = s.recv(100)
            else:
                s.connect((addr, port))
                data = s.recv(100)
        got[name] = data.decode(errors="replace").strip() or "-"
    except OSError as e:
        got[name] = f"error: {e}"
T, U, V4, V6 = socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.AF_INET, socket.AF_INET6
ts = [threading.Thread(target=ask, args=a) for a in [
    ("tcp4", V4, T, "10.88.70.2", 80, 0), ("tcp6", V6, T, "fd88:70::2", 80, 0),
    ("udp4", V4, U, "10.88.70.2", 53, 1), ("udp6", V6, U, "fd88:70::2", 53, 2)]]
for t in ts: t.start()
for t in ts: t.join()
for name, answer in got.items(): print(name, " ".join(answer.split()))  # after the joins: prints from threads interleave
PY
  )
  udp_sport=$((udp_sport + 4))
  for f in tcp4 tcp6 udp4 udp6; do
    [[ ${got[$f]:-} != "web-$f" ]] || continue
    pid=${SERVICE_PID[$f]}
    if kill -0 "$pid" 2>/dev/null; then pid="service $pid still runs"; else pid="service $pid has exited"; fi
    bad+=("$f (${got[$f]:-no answer}; $pid)")
  done
  ((${#bad[@]} == 0)) && return 0
  note "UDP sockets and processes in web:"
  ip netns exec web ss -uanp >&2 || true
  ps -eo pid,ppid,stat,etime,args >&2 || true
  fail "$1: the services in web do not all answer the host directly: ${bad[*]}"
}

# flow_vars WHO PROTO FAM: the flow's addresses. A client outside connects to
# the address of the uplink it is on, which is also what explain assumes for
# a publish without host_address; the host connects to its own address (lo:
# 127.0.0.1 or ::1; host: its address on uplink), from that same address.
# Sets SRC, DST, DSTURL, PORT, WANT (the service's answer), IIF (the link the
# connection comes in by; empty for the host's own) and NS (the namespace the
# connection starts in; empty for the host).
flow_vars() {
  local net4 net6
  case $1 in
    client) net4=192.0.2 net6=2001:db8:1 IIF=uplink NS=client ;;
    client2) net4=198.51.100 net6=2001:db8:2 IIF=uplink2 NS=client2 ;;
    host) IIF='' NS='' ;;
    lo) IIF='' NS='' ;;
    *) fail "unknown client $1" ;;
  esac
  case $1/$3 in
    lo/4) SRC=127.0.0.1 DST=127.0.0.1 ;;
    lo/6) SRC=::1 DST=::1 ;;
    host/4) SRC=192.0.2.1 DST=192.0.2.1 ;;
    host/6) SRC=2001:db8:1::1 DST=2001:db8:1::1 ;;
    */4) SRC=$net4.100 DST=$net4.1 ;;
    *) SRC=$net6::100 DST=$net6::1 ;;
  esac
  if [[ $3 == 4 ]]; then DSTURL=$DST; else DSTURL="[$DST]"; fi
  case $2 in
    tcp) PORT=$TCP_PORT ;;
    udp) PORT=$UDP_PORT ;;
    *) fail "unknown protocol $2" ;;
  esac
  WANT=web-$2$3
}

# probe WHO PROTO FAM: at most PROBE_TRIES bounded attempts, stopping at the
# first answer (socat waits PROBE_WAIT seconds for the connection and for
# the answer after sending); prints accepted (the service answered),
# "diverted (ANSWER)" (something else answered), refused (the connection was
# refused: a reject) or dropped (no answer).
probe() {
  local proto=$2 try got result=dropped err=$T/probe-err.$BASHPID in_ns=()
  flow_vars "$1" "$2" "$3"
  [[ -z $NS ]] || in_ns=(ip netns exec "$NS")
  for ((try = 1; try <= PROBE_TRIES; try++)); do
    if [[ $proto == tcp ]]; then
      got=$(timeout $((${PROBE_WAIT%.*} + 3)) "${in_ns[@]}" socat -t"$PROBE_WAIT" -T"$PROBE_WAIT" - \
        "TCP:$DSTURL:$PORT,connect-timeout=$PROBE_WAIT" </dev/null 2>"$err" || true)
    else
      got=$(echo ping | timeout $((${PROBE_WAIT%.*} + 3)) "${in_ns[@]}" socat -t"$PROBE_WAIT" -T"$PROBE_WAIT" - \
        "UDP:$DSTURL:$PORT,sourceport=$((udp_sport + try))" 2>"$err" || true)
    fi
    if [[ $got == "$WANT" ]]; then
      echo accepted
      return 0
    elif [[ -n $got ]]; then
      echo "diverted ($got)"
      return 0
    fi
    if grep -q 'Connection refused' "$err"; then result=refused; fi
  done
  echo "$result"
}

# What explain's JSON says about the one flow it explains: verdict, which
# outcomes its chains allow (for an undetermined verdict), the flow it
# assumed, and what decided it, as one line.
# shellcheck disable=SC2016 # jq, not shell
EXPLAIN_JQ='
def decision: if .by == "rule"
  then "rule \(.family) \(.table) \(.chain) handle \(.handle): \(.text)"
  else "policy \(.policy) of \(.family) \(.table) \(.chain)" end;
def leaves: if .result == "undetermined"
  then (if (.branches | length) == 0 then "unknown" else (.branches[].outcome | leaves) end)
  else .result end;
def desc: if .result == "undetermined"
  then "undetermined at \(.at.family) \(.at.table) \(.at.chain) handle \(.at.handle): \(.at.text) (\(.reason))"
       + ([.branches[] | "; if \(.assume): \(.outcome | desc)"] | join(""))
  else "\(.result) by \(.decision | decision)" end;
.explanations[0] as $e
| [$e.hooks[].chains[] | .outcome // empty] as $o
| [ $e.verdict,
    (all($o[]; any(leaves; . == "accept")) | tostring),
    (any($o[]; any(leaves; . == "drop")) | tostring),
    ($e.flow.host | tostring),
    ($e.flow.iif | tostring),
    (if $e.decided_by == null then "no chain drops it"
     else $e.decided_by as $d | "\($d.hook): \($d.outcome | desc)" end)
  ] | join("\t")'
