#!/usr/bin/env bash
# Scale benchmark: netd against the iproute2 baseline for N namespaces.
#
#   integration-tests/bench/scale.sh [N] [--no-publish]     (default 1000)
#
# In a throwaway sandbox (scripts/sandbox.sh), generates the config of
# integration-tests/gen-config.sh (bridge br0 10.88.0.1/16; namespace nsI with
# veth eth0 10.88.(I/250).(I%250+2)/16, gateway 10.88.0.1 and host port
# 8000+I published to its port 80), times `netd apply` (and, within it, the
# one nft transaction), then a no-op `netd apply`, and records netd's peak RSS
# (/usr/bin/time) and the number of rules in table inet netd. Then, in a
# second fresh sandbox, times shared/bench/baseline-iproute2.sh N (ip -batch
# plus one nft transaction with N DNAT rules). Prints one table row.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000}
# Each namespace also publishes one port, as the baseline does; --no-publish
# leaves publishing out.
publish=--publish
[[ ${2:-} == --no-publish ]] && publish=
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 62000 ]] || {
  echo "usage: $0 [N] (1..62000)" >&2
  exit 2
}
NETD=${NETD:-${CARGO_TARGET_DIR:-$ROOT/target}/release/netd}

ms_now() { echo $(($(date +%s%N) / 1000000)); }

if [[ ${2:-} == --netd-in-sandbox ]]; then
  out=$3
  if [[ ! -r /run/.netd-sandbox || "$(cat /run/.netd-sandbox)" != "$(readlink /proc/self/ns/net)" ]]; then
    echo "scale: not inside the sandbox" >&2
    exit 1
  fi
  cfg=/run/tmp/scale.toml
  "$ROOT/integration-tests/gen-config.sh" "$N" ${4:+"$4"} >"$cfg"
  "$NETD" check -c "$cfg" >&2
  t0=$(ms_now)
  NETD_LOG=netd::apply::lower=debug /usr/bin/time -f %M -o /run/tmp/rss1 "$NETD" apply -c "$cfg" \
    >/run/tmp/apply1.out 2>/run/tmp/apply1.err
  t1=$(ms_now)
  nft_ms=$(sed -n 's/.*nft transaction elapsed_ms=\([0-9]*\).*/\1/p' /run/tmp/apply1.err | tail -n 1)
  rules=0
  if [[ -n $nft_ms ]]; then
    rules=$(nft -j list table inet netd | jq '[.nftables[] | select(.rule)] | length')
  fi
  # A re-apply happens from a timer or a reload, long after the first
  # apply: let the kernel finish what a thousand new links set off
  # (neighbour and router solicitations, conntrack) before timing it.
  sleep 3
  r0=$(ms_now)
  /usr/bin/time -f %M -o /run/tmp/rss2 "$NETD" apply -c "$cfg" >/run/tmp/apply2.out
  t2=$(ms_now)
  pins=$(find /run/netns -mindepth 1 -maxdepth 1 | wc -l)
  changes=$(grep -c . /run/tmp/apply1.out || true)
  noop=$(cat /run/tmp/apply2.out)
  [[ $pins == "$N" ]] || echo "scale: WARNING: $pins namespaces pinned, want $N" >&2
  [[ $noop == "no changes" ]] || echo "scale: WARNING: second apply was not a no-op: $(head -n 3 /run/tmp/apply2.out)" >&2
  rss=$(sort -n /run/tmp/rss1 /run/tmp/rss2 | tail -n 1)
  echo "$((t1 - t0)) $((t2 - r0)) $rss $pins $changes ${nft_ms:--} $rules" >"$out"
  exit 0
fi

for tool in /usr/bin/time bc nft ip unshare awk; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "scale: missing $tool (run scripts/install-deps.sh)" >&2
    exit 1
  }
done
if [[ ! -x $NETD ]]; then
  echo "== cargo build --release" >&2
  (cd "$ROOT" && cargo build --release) >&2
fi
top=$(git -C "$ROOT" rev-parse --show-toplevel 2>/dev/null || echo "$ROOT")
baseline=$top/../shared/bench/baseline-iproute2.sh
[[ -r $baseline ]] || {
  echo "scale: baseline script not found at $baseline" >&2
  exit 1
}

res=$(mktemp)
trap 'rm -f "$res"' EXIT
echo "== netd: $N namespaces in a throwaway sandbox" >&2
NETD=$NETD "$ROOT/scripts/sandbox.sh" "$ROOT/integration-tests/bench/scale.sh" "$N" --netd-in-sandbox "$res" ${publish:+"$publish"}
read -r apply_ms noop_ms rss_kb pins changes nft_ms rules <"$res"

echo "== baseline: $baseline $N in a second throwaway sandbox" >&2
t0=$(ms_now)
# The baseline remounts /run and writes its batch files with mktemp: give it a
# private /tmp too. Its per-phase times (nft among them) go to $base_log.
base_log=$(mktemp)
# shellcheck disable=SC2016 # $0 and $1 belong to the inner bash
"$ROOT/scripts/sandbox.sh" bash -c 'mount -t tmpfs tmpfs /tmp && exec env -u TMPDIR bash "$0" "$1"' \
  "$baseline" "$N" 2>"$base_log" >&2
t1=$(ms_now)
base_ms=$((t1 - t0))
cat "$base_log" >&2
base_nft=$(sed -n 's/^nft: \([0-9.]*\)s/\1/p' "$base_log")
rm -f "$base_log"

awk -v n="$N" -v a="$apply_ms" -v z="$noop_ms" -v r="$rss_kb" -v b="$base_ms" -v p="$pins" -v c="$changes" \
  -v f="$nft_ms" -v q="$rules" -v bf="$base_nft" 'BEGIN {
  printf "\n| N | netd apply (s) | no-op re-apply (ms) | peak RSS (MB) | netd nft (ms) | rules in table netd | baseline iproute2 (s) | baseline nft (ms) | baseline / netd |\n"
  printf "|---|---|---|---|---|---|---|---|---|\n"
  printf "| %d | %.2f | %d | %.1f | %s | %d | %.2f | %.0f | %.1fx |\n", n, a / 1000, z, r / 1024, f, q, b / 1000, bf * 1000, (a > 0 ? b / a : 0)
  printf "\n(%d namespaces pinned, %d changes in the first apply)\n", p, c
}'
