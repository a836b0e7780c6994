#!/usr/bin/env bash
# Install the system packages that the demo and the integration tests use.
# Idempotent and quiet: checks each package with dpkg, runs `apt-get update`
# once and installs only what is missing. Works as root, or through sudo.
set -euo pipefail

# dnsmasq-base: the dnsmasq binary for the anycast tests, without the
# package `dnsmasq`'s system service (which would serve DNS on the host).
# iptables: iptables-nft for the firewall tests' ufw and Docker tables, and
# iptables-legacy(-save) for the legacy tables that nft cannot see.
packages=(
  nftables iproute2 iputils-ping util-linux procps time bc jq
  socat curl dnsutils bird2 frr podman runc busybox-static python3 python3-jsonschema systemd
  dnsmasq-base tcpdump iptables
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
  done
else
  echo "install-deps: no dpkg here; install these yourself if tests say a tool is missing:" >&2
  echo "  ${packages[*]}" >&2
  exit 0
fi

[[ ${#missing[@]} -eq 0 ]] && exit 0

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
}

echo "install-deps: installing ${missing[*]}" >&2

# Keep the packages' services (bird, frr, ...) from starting on the host: the
# tests start what they need inside their own sandbox. policy-rc.d is the
# Debian mechanism for this; leave an existing one alone.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  trap 'as_root rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
