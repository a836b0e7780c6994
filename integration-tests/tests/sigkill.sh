#!/usr/bin/env bash
# Crash safety: SIGKILL `netd apply` of 200 namespaces part way through, twice
# (once while it pins namespaces, once while it creates veths); the
# next `netd apply` must exit 0 and converge (200 pinned namespaces, each with
# its address and default route, one bridge port each), and a re-apply then
# has nothing to do.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq

N=200
cfg=$T/scale.toml
"$ITEST_DIR/gen-config.sh" "$N" >"$cfg"
netd_ok check -c "$cfg"

# count_pins / count_host_ends: cheap enough to poll every few ms (the
# sandbox's /sys shows the sandbox's links).
count_pins() {
  local a=("$NETNS_DIR"/*)
  echo "${#a[@]}"
}
count_host_ends() {
  local a=(/sys/class/net/nd*)
  echo "${#a[@]}"
}

# kill_part_way WHAT COUNTER: start `netd apply`, SIGKILL it once COUNTER
# reports at least a quarter of N (some but not all), or after 10 s.
kill_part_way() {
  local what=$1 counter=$2 pid start elapsed_ms=0 rc=0 seen=0
  step "start netd apply and SIGKILL it part way through $what"
  "$NETD" apply -c "$cfg" >"$T/killed.out" 2>&1 &
  pid=$!
  start=$(date +%s%N)
  while kill -0 "$pid" 2>/dev/null; do
    seen=$($counter)
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    if ((seen >= N / 4 || elapsed_ms >= 10000)); then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.005
  done
  wait "$pid" || rc=$?
  if [[ $rc == 137 ]]; then
    note "killed after ${elapsed_ms} ms with $seen $what; now $(count_pins) pins, $(count_host_ends) host veth ends"
  else
    note "netd apply finished (exit $rc) before the SIGKILL; this round did not exercise the crash path"
  fi
}

shopt -s nullglob
kill_part_way "namespace pins" count_pins
kill_part_way "host veth ends" count_host_ends
shopt -u nullglob

step "the next apply converges"
netd_ok apply -c "$cfg"

step "check all $N namespaces from outside"
assert_eq "$(netns_count)" "$N" "entries in $NETNS_DIR"
assert_eq "$(bridge_ports br0 | grep -c . || true)" "$N" "ports of br0"
assert_eq "$(netd_links | grep -c . || true)" "$((N + 1))" "netd links in the host namespace (bridge + host veth ends)"
bad=()
for ((i = 1; i <= N; i++)); do
  ns=ns$i
  want="10.88.$((i / 250)).$((i % 250 + 2))/16"
  [[ $(stat -f -c %T "$NETNS_DIR/$ns" 2>/dev/null) == nsfs ]] || {
    bad+=("$ns: not pinned")
    continue
  }
  got=$(global_addrs "$ns" eth0 2>/dev/null | tr '\n' ' ')
  [[ $got == "$want " ]] || bad+=("$ns: eth0 has '$got', want '$want'")
  r=$(ip -n "$ns" -j -N route show table main default | jq -r '.[] | "\(.gateway) \(.protocol)"')
  [[ $r == "10.88.0.1 $NETD_PROTO" ]] || bad+=("$ns: default route '$r'")
done
[[ ${#bad[@]} == 0 ]] || fail "${#bad[@]} namespaces wrong, e.g.: $(printf '%s; ' "${bad[@]:0:5}")"
note "$N namespaces, each with its address and default route"
ns_ping ns1 10.88.0.1
ns_ping ns$N 10.88.0.3

assert_converged "$cfg"
