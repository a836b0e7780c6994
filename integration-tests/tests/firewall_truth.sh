#!/usr/bin/env bash
# `netd firewall explain` against the kernel. Under host rulesets from an
# empty one to ufw's and Docker's, for TCP and UDP over IPv4 and IPv6 and
# for clients on two subnets, explain's verdict for a connection to a
# published port must be what really happens to that connection: from a
# client namespace outside, through the sandbox host, to a socat service in
# a netd namespace.
#
# "accepted" must connect and get the service's answer; "dropped" must get
# no answer (a reject, which refuses the connection, counts as dropped); an
# answer from anything but the service agrees with neither.
# "undetermined" (a rule explain cannot evaluate, such as an iptables match
# whose options `nft -j` does not show) passes when what happens is one of
# the outcomes explain lists for it. Every flow is checked; each
# disagreement is printed with explain's deciding rule and fails the test.
# Each scenario also states what the kernel is expected to do, so that a
# broken sandbox cannot pass by agreeing with a broken explain.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip nft iptables-nft iptables-nft-restore ip6tables-nft-restore socat jq sysctl timeout

# shellcheck source=SCRIPTDIR/../firewall-lib.sh
source "$(dirname "$0")/../firewall-lib.sh"

FIXTURES=$ROOT/netd/testdata/firewall
CFG=$FW_CFG
started=$SECONDS
fw_sandbox

ROWS=()
DISAGREE=()
N_FLOWS=0
SEEN_ACCEPTED=0
SEEN_DROPPED=0

reset_host() {
  nft flush ruleset
  netd_ok apply -c "$CFG"
  nft list table inet netd >/dev/null 2>&1 || fail "netd apply did not restore table inet netd after nft flush ruleset"
}

# nft_file FILE: load a fixture's nftables source without its own `flush
# ruleset`, which would take netd's table with it.
nft_file() { grep -v '^[[:space:]]*flush ruleset' "$1" | nft -f -; }

# scenario NAME LOADER FLOW...: a fresh host (flush, netd apply), the host
# ruleset LOADER loads, then for each FLOW ("CLIENT PROTO/FAM EXPECTED",
# EXPECTED accepted, dropped, refused or diverted) explain's verdict and a real
# connection, all flows' connections at once.
scenario() {
  local name=$1 loader=$2 t0=$SECONDS
  shift 2
  step "$name"
  reset_host
  "$loader"
  netd_ok plan -c "$CFG"
  assert_eq "$(trim "$OUT")" "no changes" "netd's own table under the host ruleset '$name'"

  local flow client pf proto fam expect i=0 pids=() ex rc
  for flow; do
    read -r client pf expect <<<"$flow"
    proto=${pf%/*} fam=${pf#*/}
    flow_vars "$client" "$proto" "$fam"
    ex=$T/explain.$N_FLOWS.$i
    printf '$ netd firewall explain web:%s/%s --from %s --json -c %s\n' "$PORT" "$proto" "$SRC" "$CFG" >&2
    rc=0
    timeout "$NETD_CMD_TIMEOUT" "$NETD" firewall explain "web:$PORT/$proto" --from "$SRC" --json -c "$CFG" \
      >"$ex.json" 2>"$ex.err" || rc=$?
    [[ $rc == 0 || $rc == 1 ]] || fail "netd firewall explain web:$PORT/$proto --from $SRC exited $rc: $(cat "$ex.err")"
    assert_json "$(cat "$ex.json")" '.explanations | length == 1' "explain of one flow ($flow)"
    jq -r "$EXPLAIN_JQ" "$ex.json" >"$ex.tsv"
    # A port conflict (another table's DNAT of the port) is exit 1 as well.
    [[ $(cut -f1 "$ex.tsv") == accepted && $(jq '.conflicts | length' "$ex.json") == 0 ]] && want_rc=0 || want_rc=1
    assert_eq "$rc" "$want_rc" "exit code of explain for verdict $(cut -f1 "$ex.tsv") ($flow)"
    probe "$client" "$proto" "$fam" >"$ex.observed" &
    pids+=("$!")
    udp_sport=$((udp_sport + 3))
    i=$((i + 1))
  done
  wait "${pids[@]}"

  local verdict can_accept can_drop host iif why observed kind agree
  i=0
  for flow; do
    read -r client pf expect <<<"$flow"
    proto=${pf%/*} fam=${pf#*/}
    flow_vars "$client" "$proto" "$fam"
    ex=$T/explain.$N_FLOWS.$i
    IFS=$'\t' read -r verdict can_accept can_drop host iif why <"$ex.tsv"
    observed=$(cat "$ex.observed")
    i=$((i + 1))
    [[ $host == "$DST" && $iif == "$IIF" ]] ||
      fail "$name: $flow: explain assumed a connection to $host in on $iif; the client connects to $DST in on $IIF"
    kind=$observed
    # A refused or diverted connection does not reach the namespace either:
    # for the publish, both are a drop (explain names the deciding rule).
    [[ $kind == refused || $kind == diverted* ]] && kind=dropped
    case $kind in accepted) SEEN_ACCEPTED=$((SEEN_ACCEPTED + 1)) ;; dropped) SEEN_DROPPED=$((SEEN_DROPPED + 1)) ;; esac
    case $verdict in
      accepted | dropped) [[ $kind == "$verdict" ]] && agree=yes || agree=NO ;;
      undetermined)
        agree=NO
        [[ $kind == accepted && $can_accept == true ]] && agree=yes
        [[ $kind == dropped && $can_drop == true ]] && agree=yes
        ;;
      *) agree=NO ;;
    esac
    local what="$client $proto$fam $SRC -> $DSTURL:$PORT"
    ROWS+=("$(printf '%-34s %-52s %-13s %-9s %-9s %s' "$name" "$what" "$verdict" "$observed" "$expect" "$agree")")
    note "$what: explain $verdict ($why); observed $observed; expected $expect"
    if [[ $agree != yes ]]; then
      DISAGREE+=("scenario:  $name
  flow:      $what
  explain:   $verdict
  decided:   $why
  observed:  $observed
  explain's text:
$("$NETD" firewall explain "web:$PORT/$proto" --from "$SRC" -c "$CFG" 2>&1 | sed 's/^/    /')")
    elif [[ $observed != "$expect"* ]]; then
      DISAGREE+=("scenario:  $name
  flow:      $what
  explain:   $verdict ($why)
  observed:  $observed, but the test expects $expect: explain agrees with the kernel, the test's expectation is wrong")
    fi
  done
  N_FLOWS=$((N_FLOWS + 1))
  note "($((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------- host rulesets

load_empty() { :; }

load_debian() { nft_file "$FIXTURES/debian-default.nft"; }

load_forward_drop() {
  nft -f - <<'NFT'
table inet filter {
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; }
}
NFT
}

# The same, and the host's own accepts for the published TCP port (IPv4
# only) and the published UDP port (both families), after DNAT.
load_forward_drop_allow() {
  load_forward_drop
  nft add rule inet filter forward ip daddr 10.88.70.2 tcp dport 80 ct status dnat accept
  nft add rule inet filter forward udp dport 53 ct status dnat accept
}

# One source subnet dropped before DNAT, by the port the client connects to.
load_source_drop() {
  nft -f - <<'NFT'
table inet filter {
  chain prerouting { type filter hook prerouting priority mangle; policy accept; ip saddr 198.51.100.0/24 tcp dport 8088 drop; }
}
NFT
}

# Input is closed (but for neighbour discovery, which IPv6 forwarding
# needs); forward is not: published ports never pass input.
load_input_drop() {
  nft -f - <<'NFT'
table inet filter {
  chain input { type filter hook input priority filter; policy drop; ct state established,related accept; iif "lo" accept; meta l4proto ipv6-icmp accept; tcp dport 22 accept; }
  chain forward { type filter hook forward priority filter; policy accept; }
}
NFT
}

load_policy_drop_fixture() { nft_file "$FIXTURES/policy-drop.nft"; }

load_ufw() {
  iptables-nft-restore <"$FIXTURES/ufw-default.rules"
  ip6tables-nft-restore <"$FIXTURES/ufw-default.rules6"
}

# What `ufw route allow proto tcp to 10.88.70.2 port 80` adds (IPv4 only).
load_ufw_route_allow() {
  load_ufw
  iptables-nft -A ufw-user-forward -p tcp -d 10.88.70.2 --dport 80 -j ACCEPT
}

load_docker() { iptables-nft-restore <"$FIXTURES/docker-iptables.rules"; }

# Docker's FORWARD drops what is not its own; the admin's rules in
# DOCKER-USER, which FORWARD runs first: drop one subnet, accept the
# published port on netd's bridge, and its replies.
load_docker_user() {
  load_docker
  iptables-nft -I DOCKER-USER -i br-truth -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  iptables-nft -I DOCKER-USER -o br-truth -d 10.88.70.2 -p tcp --dport 80 -j ACCEPT
  iptables-nft -I DOCKER-USER -s 198.51.100.0/24 -j DROP
}

load_reject() {
  nft -f - <<'NFT'
table inet filter {
  chain forward { type filter hook forward priority filter; policy accept; tcp dport 80 ct status dnat reject; }
}
NFT
}

load_ipv6_drop() {
  nft -f - <<'NFT'
table ip6 filter6 {
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; }
}
NFT
}

# A filter chain in prerouting after netd's DNAT (priority filter > dstnat)
# sees the namespace's port, not the host's.
load_prerouting_after_dnat() {
  nft -f - <<'NFT'
table inet filter {
  chain prerouting { type filter hook prerouting priority filter; policy accept; tcp dport 8088 drop; udp dport 53 drop; }
}
NFT
}

# A port forward of the host's own (a leftover, another engine's) for the
# published port, at a priority before netd's DNAT: the connection goes to
# the host's port 9999, where a host service answers, not to web.
load_redirect_before_netd() {
  nft -f - <<'NFT'
table ip hostnat {
  chain prerouting { type nat hook prerouting priority dstnat - 10; policy accept; tcp dport 8088 redirect to :9999; }
}
NFT
}

load_firewalld() { nft_file "$FIXTURES/firewalld-default.nft"; }

load_docker_nft() { nft_file "$FIXTURES/docker-nft.nft"; }

# ---------------------------------------------------------------- scenarios

scenario "empty ruleset" load_empty \
  "client tcp/4 accepted" "client tcp/6 accepted" "client udp/4 accepted" "client2 udp/6 accepted"
scenario "Debian default nftables.conf" load_debian \
  "client tcp/4 accepted" "client2 udp/6 accepted"
scenario "forward policy drop" load_forward_drop \
  "client tcp/4 dropped" "client tcp/6 dropped" "client udp/4 dropped" "client2 udp/6 dropped"
scenario "forward policy drop + accepts" load_forward_drop_allow \
  "client tcp/4 accepted" "client tcp/6 dropped" "client udp/4 accepted" "client2 udp/6 accepted"
scenario "drop from 198.51.100.0/24" load_source_drop \
  "client tcp/4 accepted" "client2 tcp/4 dropped" "client2 tcp/6 accepted" "client2 udp/4 accepted"
scenario "input policy drop only" load_input_drop \
  "client tcp/4 accepted" "client tcp/6 accepted" "client2 udp/4 accepted"
scenario "policy-drop.nft fixture" load_policy_drop_fixture \
  "client tcp/4 dropped" "client2 udp/6 dropped"
scenario "ufw default" load_ufw \
  "client tcp/4 dropped" "client tcp/6 dropped" "client2 udp/4 dropped"
scenario "ufw + route allow tcp 80 (v4)" load_ufw_route_allow \
  "client tcp/4 accepted" "client2 tcp/4 accepted" "client tcp/6 dropped"
scenario "Docker (iptables)" load_docker \
  "client tcp/4 dropped" "client tcp/6 accepted"
scenario "Docker + DOCKER-USER drop" load_docker_user \
  "client tcp/4 accepted" "client2 tcp/4 dropped" "client udp/4 dropped"
scenario "reject instead of drop" load_reject \
  "client tcp/4 refused" "client2 tcp/6 refused" "client udp/4 accepted"
scenario "IPv6-only forward drop" load_ipv6_drop \
  "client tcp/4 accepted" "client tcp/6 dropped" "client2 udp/4 accepted" "client2 udp/6 dropped"
scenario "prerouting filter after DNAT" load_prerouting_after_dnat \
  "client tcp/4 accepted" "client2 tcp/6 accepted" "client udp/4 dropped"
scenario "host redirect before netd's DNAT" load_redirect_before_netd \
  "client tcp/4 diverted" "client tcp/6 accepted"
scenario "firewalld default" load_firewalld \
  "client tcp/4 accepted" "client2 udp/6 accepted"
scenario "Docker (nftables backend)" load_docker_nft \
  "client tcp/4 accepted" "client2 udp/4 accepted"

# ---------------------------------------------------------------- report

step "explain's verdicts against the kernel"
printf '   %-34s %-52s %-13s %-9s %-9s %s\n' scenario flow explain observed expected agree >&2
printf '   %s\n' "${ROWS[@]}" >&2
note "${#ROWS[@]} flows in $N_FLOWS scenarios: $SEEN_ACCEPTED accepted, $SEEN_DROPPED dropped or refused ($((SECONDS - started)) s)"
((SEEN_ACCEPTED > 0 && SEEN_DROPPED > 0)) || fail "every flow had the same outcome: the sandbox, not the firewall, decided"
if ((${#DISAGREE[@]} > 0)); then
  printf '\n%s\n' "${DISAGREE[@]}" >&2
  fail "${#DISAGREE[@]} of ${#ROWS[@]} flows: explain and the kernel disagree (above)"
fi
