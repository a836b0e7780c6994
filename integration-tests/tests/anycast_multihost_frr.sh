#!/usr/bin/env bash
# anycast_multihost.sh with ANYCAST_MODE=bgp-frr (see there).
ANYCAST_MODE=bgp-frr exec bash "$(dirname "$0")/anycast_multihost.sh" "$@"
