#!/usr/bin/env bash
# The demo's anycast scenario, run by scripts/demo.sh inside its sandbox
# (started alone, it makes its own): three hosts, each with its own
# `netd run`, announce the DNS service 203.0.113.53 / 2001:db8:53::53 over
# BGP (a BIRD sidecar per host) to an upstream router, which spreads the
# client's queries over the three. Then dnsmasq on host A freezes: netd's
# health check withdraws A's path, the client keeps getting answers from B
# and C, and A comes back once dnsmasq answers again. Prints `netd status`
# of host A and the upstream's routes before and after. Takes ~30 s.
# The topology is integration-tests/anycast-lib.sh, as in the tests.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../integration-tests/lib.sh
source "$ROOT/integration-tests/lib.sh"
# shellcheck source=../integration-tests/anycast-lib.sh
source "$ROOT/integration-tests/anycast-lib.sh"
need_tool ip jq bird dnsmasq dig nsenter
on_exit kill_pidfiles

say() { printf '\n== %s\n' "$*"; }
show_upstream() {
  echo "\$ ip -n upstream route show $ANY4; ip -n upstream -6 route show $ANY6"
  ip -n upstream route show "$ANY4"
  ip -n upstream -6 route show "$ANY6"
}
show_status() {
  echo "\$ nsenter --net=/run/netns/hA netd --state-dir /run/hA/netd --netns-dir /run/hA/netns status"
  hnetd A status || true
}
queries() { # N: the client's queries, answered or not
  local i ok=0
  for ((i = 0; i < $1; i++)); do client_dig && ok=$((ok + 1)); done
  echo "client: $ok of $1 queries for $ANY_NAME to $ANY4 answered"
}

say "anycast: upstream router (BIRD, ECMP), client, hosts hA hB hC, each running netd run"
any_up
echo "each host's config: $(hdir A)/netd.toml; its BIRD config: netd anycast config dns --bird --bgp"
sed 's/^/   | /' "$(hdir A)/netd.toml" | sed -n '/\[anycast.dns\]/,$p'
show_upstream
show_status
queries 6

say "dnsmasq on hA freezes (SIGSTOP): the dns check fails twice, netd withdraws A's route"
mark=$(mon_lines)
pid=$(dnsmasq_pid A)
t0=$(now_us)
kill -STOP "$pid"
gone=$(mon_wait 5000 "$mark" A 4 gone) || fail "A's path still upstream after 5 s"
echo "upstream dropped hA's path $(ms_between "$t0" "$gone") ms after the freeze"
show_upstream
show_status
queries 6

say "dnsmasq on hA resumes (SIGCONT): after rise = 2 passing checks, A is announced again"
mark=$(mon_lines)
t0=$(now_us)
kill -CONT "$pid"
back=$(mon_wait 5000 "$mark" A 4 back) || fail "A's path not back after 5 s"
echo "upstream has hA's path again $(ms_between "$t0" "$back") ms after it resumed"
show_upstream
