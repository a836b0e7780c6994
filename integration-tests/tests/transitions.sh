#!/usr/bin/env bash
# Transitions: 200 seeded random edits of a config (namespaces, veths,
# addresses, routes and gateways, MTUs, sysctls, publishes, bridges), each
# applied with `netd apply --prune` while netlink listeners record every
# change in every namespace. After each apply: exit 0; an immediate plan has
# no changes; the kernel matches the config (ip -j, nft -j, /proc); and no
# link, address or route present in both the old and the new config was
# deleted, unless the plan announced its replacement. The logic is in
# integration-tests/transitions/ (run.py). SEED=N replays a run; EDITS=N
# changes the count; KEEP_GOING=1 reports every failing edit; EDIT_KINDS
# limits the edits drawn (see transitions/run.py).
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq nft nsenter python3

SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
note "seed $SEED (SEED=$SEED replays this run)"

PYTHONDONTWRITEBYTECODE=1 NETD=$NETD SEED=$SEED WORKDIR=$T python3 "$ITEST_DIR/transitions/run.py" ||
  fail "seed $SEED: see the failing edit above (SEED=$SEED replays this run)"
