#!/usr/bin/env bash
# The demo: install what is missing, build netd, then in ONE throwaway sandbox
# (scripts/sandbox.sh: new network, mount and PID namespaces, private /run)
# check and apply every examples/*.toml one after the other, show traffic
# crossing the namespaces, and print `netd status`; then the anycast scenario
# (scripts/demo-anycast.sh: three hosts announce one DNS address over BGP,
# one fails and recovers). The host's network is
# never touched; the sandbox and everything in it vanish when the demo ends.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [[ ${1:-} != --in-sandbox ]]; then
  echo "== installing missing system packages (scripts/install-deps.sh)"
  scripts/install-deps.sh
  echo "== cargo build --release"
  cargo build --release
  export NETD=${CARGO_TARGET_DIR:-$ROOT/target}/release/netd
  echo "== entering a throwaway sandbox (unshare --net --mount --pid; private /run)"
  exec scripts/sandbox.sh "$ROOT/scripts/demo.sh" --in-sandbox
fi

# Inside the sandbox from here on; refuse to run anywhere else.
if [[ ! -r /run/.netd-sandbox || "$(cat /run/.netd-sandbox)" != "$(readlink /proc/self/ns/net)" ]]; then
  echo "demo: not inside the sandbox; run scripts/demo.sh without arguments" >&2
  exit 1
fi

NETD=${NETD:-$ROOT/target/release/netd}
netd() {
  echo "\$ netd $*"
  "$NETD" "$@"
}

shopt -s nullglob
examples=(examples/*.toml)
for f in "${examples[@]}"; do
  echo
  echo "== $f"
  netd check -c "$f"
  netd apply -c "$f"
done

namespace_exists() { [[ -e /run/netns/$1 ]]; }
wait_dad() { # until no IPv6 address in these namespaces is tentative (max 5 s)
  local ns i
  for ns; do
    for ((i = 0; i < 50; i++)); do
      [[ -z $(ip -n "$ns" -6 addr show tentative) ]] && break
      sleep 0.1
    done
  done
}
demo_ping() { # NS ADDR
  echo "\$ netd exec $1 -- ping -c 2 -W 1 $2"
  "$NETD" exec "$1" -- ping -c 2 -W 1 -i 0.2 -q "$2" | grep -E 'packets|rtt' || echo "(no answer)"
}

echo
echo "(A note that an earlier example's namespaces are \"no longer in the config\" is expected:"
echo " each file is a whole config, and without --prune netd leaves what it owns alone.)"

echo
echo "== traffic between namespaces"
if namespace_exists web && namespace_exists db; then
  wait_dad web db
  demo_ping web 10.88.0.3
  demo_ping web fd88::3
fi
if namespace_exists client && namespace_exists router; then
  wait_dad client router
  demo_ping client 192.0.2.53
fi

echo
echo "== status"
netd status

echo
echo "All ${#examples[@]} examples (${examples[*]}) were applied one after the other in"
echo "one throwaway sandbox."

echo
echo "== anycast across three hosts (scripts/demo-anycast.sh)"
"$ROOT/scripts/demo-anycast.sh"

echo
echo "The sandbox disappears now; the host's network was never touched."
