#!/usr/bin/env bash
# Run a command in a throwaway network sandbox:
#
#   scripts/sandbox.sh CMD [ARGS...]
#
# The command runs as root in new network, mount and PID namespaces
# (`unshare --net --mount --propagation private --pid`), with a private tmpfs
# on /run (so /run/netns and /run/netd are the sandbox's own), sysfs
# remounted (so /sys/class/net shows the sandbox's links, not the host's) and
# `lo` up. Nothing in it can reach or change the host's network: the sandbox
# starts with no interface but `lo`, and everything in it — links, pinned
# namespaces, processes — disappears when CMD exits (the PID namespace's init
# dies, and with it every process and mount that kept a namespace alive).
#
# Not root? It re-runs itself with sudo.
set -euo pipefail

if [[ ${1:-} == --inside ]]; then
  host_netns=$2
  shift 2
  # Belt and braces: refuse to touch /run or /sys unless this really is a
  # different network namespace from the one we were started in.
  if [[ $(readlink /proc/self/ns/net) == "$host_netns" ]]; then
    echo "sandbox: still in the host's network namespace; refusing to continue" >&2
    exit 1
  fi
  mount -t tmpfs -o mode=0755 tmpfs /run
  # Keep the cgroup mounts (podman needs them) across the sysfs remount.
  mkdir /run/.cgroup
  if mount --rbind /sys/fs/cgroup /run/.cgroup 2>/dev/null; then
    mount -t sysfs sysfs /sys
    mount --move /run/.cgroup /sys/fs/cgroup 2>/dev/null || umount -l /run/.cgroup
  else
    mount -t sysfs sysfs /sys
  fi
  rmdir /run/.cgroup 2>/dev/null || true
  mkdir -p /run/tmp /run/lock
  ip link set lo up
  # Marker that integration-tests/lib.sh checks before running anything.
  readlink /proc/self/ns/net >/run/.netd-sandbox
  export TMPDIR=/run/tmp NETD_SANDBOX=1
  # Not exec: this shell stays PID 1 of the sandbox and reaps orphans.
  "$@"
  exit $?
fi

if [[ $# -eq 0 ]]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo env "PATH=$PATH" "CI=${CI:-}" "NETD=${NETD:-}" \
      "CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-}" "$0" "$@"
  fi
  echo "sandbox: need root (or sudo) for unshare --net --mount" >&2
  exit 1
fi

for tool in unshare ip mount; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "sandbox: missing tool: $tool (run scripts/install-deps.sh)" >&2
    exit 1
  fi
done

exec unshare --net --mount --propagation private --pid --fork --kill-child --mount-proc \
  -- "$(realpath "$0")" --inside "$(readlink /proc/self/ns/net)" "$@"
