#!/usr/bin/env bash
# anycast_multihost.sh with ANYCAST_MODE=ospf-bird (see there).
ANYCAST_MODE=ospf-bird exec bash "$(dirname "$0")/anycast_multihost.sh" "$@"
