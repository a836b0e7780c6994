#!/usr/bin/env bash
# `netd firewall explain` against the kernel under random host rulesets: the
# differential test of explain. For each seed, fwgen.py builds a ruleset
# from rule templates (tables of every family, base chains at many hooks and
# priorities, sets, maps, jumps, NAT, notrack, limits, reply drops, ingress,
# sysctls, iptables-legacy; `fwgen.py --list-classes`). On a fresh host
# (nft flush ruleset, legacy tables flushed, sysctls restored, netd apply)
# the ruleset is loaded, and 11 flows are explained and really made, all at
# once: both outside clients with TCP and UDP over IPv4 and IPv6, and the
# host itself to 127.0.0.1, to its uplink address and to [::1].
#
# A definite verdict the kernel contradicts fails the test: "accepted" must
# get the service's answer; "dropped" must not (a refused connection, or an
# answer from something else, is a drop). A timed-out connection that
# explain says is accepted is made again, with longer waits, before it
# counts. "undetermined" never fails; it is counted. explain's JSON must
# give every field one type (null aside), and name the address the flow
# really goes to, and the link it comes in by.
#
# Environment: FWDIFF_SEEDS (default 200), FWDIFF_FIRST_SEED (default 1),
# FWGEN_CLASSES (only these generator classes). Re-run one seed with
# FWDIFF_SEEDS=1 FWDIFF_FIRST_SEED=N. Each disagreement is one line; the
# first of each kind (flow, verdict, outcome, classes) also prints the
# ruleset, sysctls, legacy commands and explain's text, up to
# FWDIFF_DETAILS (default 25) of them.
# timeout: 900
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip nft iptables-legacy ip6tables-legacy socat jq sysctl timeout python3
# shellcheck source=SCRIPTDIR/../firewall-lib.sh
source "$(dirname "$0")/../firewall-lib.sh"
# shellcheck source=SCRIPTDIR/../firewall-diff-lib.sh
source "$(dirname "$0")/../firewall-diff-lib.sh"

SEEDS=${FWDIFF_SEEDS:-200}
FIRST=${FWDIFF_FIRST_SEED:-1}
DETAILS=${FWDIFF_DETAILS:-25}
[[ $SEEDS =~ ^[0-9]+$ && $FIRST =~ ^[0-9]+$ && $SEEDS -gt 0 ]] ||
  fail "FWDIFF_SEEDS ($SEEDS) and FWDIFF_FIRST_SEED ($FIRST) must be numbers, FWDIFF_SEEDS > 0"
started=$SECONDS

fw_sandbox
# The first try of every flow is short; a flow whose first try disagrees is
# tried again with the bounds of firewall_truth.
PROBE_TRIES=1 PROBE_WAIT=0.5
udp_sport=20000

step "rulesets for seeds $FIRST..$((FIRST + SEEDS - 1))${FWGEN_CLASSES:+ (classes: $FWGEN_CLASSES)}"
mkdir "$T/seeds"
python3 "$ITEST_DIR/fwgen.py" --dir "$T/seeds" "$FIRST" "$SEEDS" || fail "fwgen.py failed"

step "explain and the kernel, seed by seed"
note "per flow (client tcp4 tcp6 udp4 udp6, client2 the same, then the host's own three): explain's"
note "verdict and the kernel's outcome, a = accepted, d = dropped, u = undetermined; ! = they disagree"
for ((seed = FIRST; seed < FIRST + SEEDS; seed++)); do
  run_seed "$seed"
done
reset_host "after the last seed"

report
