# shellcheck shell=bash
# The exact-state check of tests/crash_consistency.sh, for configs made by
# gen-config.sh (one veth eth0 per namespace on br0, one address, a gateway):
# sourced after lib.sh.

# nft_norm: table inet netd as nft -j prints it, without handles and with
# set and map elements sorted, so two listings of the same rules compare equal.
nft_norm() {
  nft -j list table inet netd |
    jq -S '[.nftables[] | select(has("metainfo") | not)] |
      walk(if type == "object" then del(.handle) | (if has("elem") then .elem |= sort else . end) else . end)'
}

# host_end_map: "NS HOSTNAME" for each host veth end netd made.
host_end_map() {
  ip -j link show | jq -r '.[] | (.ifalias // "") as $a | select($a | startswith("netd:veth:")) |
    "\($a | ltrimstr("netd:veth:") | split("/")[0]) \(.ifname)"' | sort
}

# config_namespaces CONFIG: the namespace names of CONFIG, sorted.
config_namespaces() {
  sed -n 's/^\[namespace\.\([^].]*\)\]$/\1/p' "$1" | sort
}

# want_namespaces CONFIG: one line a namespace, as ns_lines prints the kernel:
# lo and a marked eth0 up, eth0's one global address, and one route of netd's
# protocol: the default route via the gateway.
want_namespaces() {
  awk -v proto="$NETD_PROTO" '
    function flush() {
      if (ns != "") printf "%s links=eth0/veth/netd:if:%s/eth0/up,lo/-/-/up addrs=eth0=%s routes=254 default via %s dev eth0 proto %s\n", ns, ns, addr, gw, proto
      ns = ""
    }
    /^\[namespace\.[^].]*\]$/ { flush(); ns = $0; gsub(/^\[namespace\.|\]$/, "", ns) }
    /^\[bridge\./ { flush() }
    ns != "" && /^gateway = / { gw = $0; gsub(/^gateway = \["|"\]$/, "", gw) }
    ns != "" && /^addresses = / { addr = $0; gsub(/^addresses = \["|"\]$/, "", addr) }
    END { flush() }' "$1" | sort
}

# ns_lines: the same line for every pinned namespace, from one `ip -b` (addr
# and routes) per namespace, entered with nsenter (quicker than ip -n, which
# remounts /sys); a pin that is no namespace shows as "NS unreadable".
ns_lines() {
  local ns
  for ns in $(netns_entries); do
    printf '"%s"\n' "$ns"
    printf 'addr show\nroute show table all\n' | nsenter --net="$NETNS_DIR/$ns" ip -j -d -N -b - 2>/dev/null ||
      printf 'null\nnull\n'
  done | jq -rn '[inputs] | _nwise(3) | .[0] as $ns | .[1] as $addr | .[2] as $route |
    if $addr == null or $route == null then "\($ns) unreadable" else
    "\($ns) links=\([$addr[] | "\(.ifname)/\(.linkinfo.info_kind // "-")/\(.ifalias // "-")/\(if (.flags | index("UP")) then "up" else "down" end)"] | sort | join(","))" +
    " addrs=\([$addr[] | .ifname as $i | .addr_info[] | select(.scope == "global" or .scope == "0") | "\($i)=\(.local)/\(.prefixlen)"] | sort | join(","))" +
    " routes=\([$route[] | select(.protocol != "2") | "\(.table // "254") \(.dst) via \(.gateway // "-") dev \(.dev) proto \(.protocol)"] | sort | join(","))"
    end' | sort
}

# want_host CONFIG ENDS: the host's links: lo, br0 and, for each namespace of
# CONFIG, its host end under the name ENDS (host_end_map of a clean apply) has.
want_host() {
  local cfg=$1 ends=$2
  {
    echo "lo - - -"
    echo "br0 bridge netd:bridge:br0 -"
    config_namespaces "$cfg" | join - "$ends" | awk '{printf "%s veth netd:veth:%s/eth0 br0\n", $2, $1}'
  } | sort
}

host_lines() {
  ip -j -d link show | jq -r '.[] | "\(.ifname) \(.linkinfo.info_kind // "-") \(.ifalias // "-") \(.master // "-")"' | sort
}

# diff_or_fail WHAT WANT GOT: fail with the first differences.
diff_or_fail() {
  local d
  d=$(diff "$2" "$3" | grep '^[<>]' | head -n 10) || true
  [[ -z $d ]] || fail "$1 differs from the config (< want, > got; first 10):
$d"
}

# check_exactly CONFIG ENDS NFT_REF: the kernel holds exactly CONFIG, and
# table inet netd equals NFT_REF (nft_norm of a clean apply of CONFIG).
check_exactly() {
  local cfg=$1 ends=$2 nft_ref=$3
  config_namespaces "$cfg" >"$T/want.pins"
  netns_entries >"$T/got.pins"
  diff_or_fail "the set of pins in $NETNS_DIR" "$T/want.pins" "$T/got.pins"
  want_namespaces "$cfg" >"$T/want.ns"
  ns_lines >"$T/got.ns"
  diff_or_fail "links, addresses and routes in the namespaces" "$T/want.ns" "$T/got.ns"
  want_host "$cfg" "$ends" >"$T/want.host"
  host_lines >"$T/got.host"
  diff_or_fail "the host's links" "$T/want.host" "$T/got.host"
  nft_norm >"$T/got.nft"
  diff_or_fail "table inet netd (against a clean apply's)" "$nft_ref" "$T/got.nft"
  note "exactly the config: $(grep -c . "$T/got.pins") namespaces, $(($(grep -c . "$T/got.host") - 2)) host ends, table inet netd as a clean apply makes it"
}
