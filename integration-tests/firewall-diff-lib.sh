# shellcheck shell=bash
# Variables set here are used by the tests that source this file.
# shellcheck disable=SC2034
# The seed loop of tests/firewall_diff.sh, sourced after lib.sh and
# firewall-lib.sh: reset the host, load one fwgen.py ruleset, explain and
# make its flows, compare, and the final report.

# Counters over the whole run.
N_RULESETS=0 N_FLOWS=0 K_ACCEPTED=0 K_DROPPED=0
E_ACCEPTED=0 E_DROPPED=0 E_UNDETERMINED=0 N_DISAGREE=0 N_RETRIED=0 N_SLOW=0
declare -A CLASS_RULESETS=() SEEN_KIND=() CONFIRMED=() JSON_PROBLEM=()
DETAILS_SHOWN=0
# What the previous seed changed besides nftables, for reset_host.
DIRTY_SYSCTL=0 DIRTY_LEGACY=0

# seed_flows SEED: FLOWS, the seed's 11 flows ("WHO PROTO FAM"). The
# host's own three take turns at TCP and UDP, and its uplink address at
# IPv4 and IPv6, from seed to seed.
seed_flows() {
  local p=(tcp udp) a=$(($1 % 2)) f=$((($1 / 2) % 2 ? 6 : 4))
  FLOWS=("client tcp 4" "client tcp 6" "client udp 4" "client udp 6"
    "client2 tcp 4" "client2 tcp 6" "client2 udp 4" "client2 udp 6"
    "lo ${p[a]} 4" "host ${p[1 - a]} $f" "lo ${p[1 - a]} 6")
}

# flow_name WHO PROTO FAM: NAME, how reports name the flow.
flow_name() {
  case $1/$3 in
    lo/4) NAME="host->127.0.0.1 $2" ;;
    lo/6) NAME="host->[::1] $2" ;;
    host/*) NAME="host->uplink $2$3" ;;
    *) NAME="$1 $2$3" ;;
  esac
}

legacy_flush() {
  local tool names t c
  for tool in iptables-legacy ip6tables-legacy; do
    names=/proc/net/ip_tables_names
    [[ $tool == ip6* ]] && names=/proc/net/ip6_tables_names
    [[ -r $names ]] || continue
    for t in $(cat "$names"); do
      "$tool" -t "$t" -F
      "$tool" -t "$t" -X
    done
    if grep -qx filter "$names"; then
      for c in INPUT FORWARD OUTPUT; do "$tool" -P "$c" ACCEPT; done
    fi
  done
}

# reset_host WHEN: the host as fw_sandbox left it: no ruleset but netd's, no
# iptables-legacy rules, forwarding on, route_localnet on netd's bridge.
reset_host() {
  if ((DIRTY_SYSCTL)); then
    sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.br-truth.route_localnet=1
  fi
  ((DIRTY_LEGACY)) && legacy_flush
  DIRTY_SYSCTL=0 DIRTY_LEGACY=0
  nft flush ruleset
  local rc=0
  timeout "$NETD_CMD_TIMEOUT" "$NETD" apply -c "$FW_CFG" >"$T/apply.out" 2>&1 || rc=$?
  [[ $rc == 0 ]] || fail "netd apply after nft flush ruleset exited $rc: $(cat "$T/apply.out")"
  # A dead service fails every later flow to it: name it, not 1000 disagreements.
  services_check "$1"
}

# load_seed SEED: its sysctls, legacy commands and ruleset; sets SEED_FILE
# and SEED_CLASSES.
load_seed() {
  local line cmd
  SEED_FILE=$T/seeds/$1.nft
  SEED_CLASSES=$(sed -n 's/^#@class //p' "$SEED_FILE" | tr '\n' ' ')
  SEED_CLASSES=${SEED_CLASSES% }
  while read -r line; do
    DIRTY_SYSCTL=1
    sysctl -qw "$line" || fail "seed $1: sysctl -w $line failed"
  done < <(sed -n 's/^#@sysctl //p' "$SEED_FILE")
  while read -r line; do
    DIRTY_LEGACY=1
    read -ra cmd <<<"$line"
    "${cmd[@]}" 2>"$T/legacy.err" || fail "seed $1: \`$line\` failed (a bug of fwgen.py): $(cat "$T/legacy.err")"
  done < <(sed -n 's/^#@legacy //p' "$SEED_FILE")
  nft -c -f "$SEED_FILE" 2>"$T/nft.err" ||
    fail "seed $1: nft -c refuses the generated ruleset (a bug of fwgen.py):
$(cat "$T/nft.err")
$(cat "$SEED_FILE")"
  nft -f "$SEED_FILE" || fail "seed $1: nft -f failed after nft -c passed"
  if grep -qx '#@nonetd' "$SEED_FILE"; then nft delete table inet netd; fi
}

# explain_flow WHO PROTO FAM OUT: explain's JSON to OUT.json, its exit code to OUT.rc.
explain_flow() {
  local rc=0
  flow_vars "$1" "$2" "$3"
  timeout "$NETD_CMD_TIMEOUT" "$NETD" firewall explain "web:$PORT/$2" --from "$SRC" --json -c "$FW_CFG" \
    >"$4.json" 2>"$4.err" || rc=$?
  echo "$rc" >"$4.rc"
}

run_seed() {
  local seed=$1 d=$T/run i=0 flow who proto fam pids=()
  SEED_T0=$(now_ms)
  rm -rf "$d"
  mkdir "$d"
  reset_host "before seed $seed"
  load_seed "$seed"
  seed_flows "$seed"
  for flow in "${FLOWS[@]}"; do
    read -r who proto fam <<<"$flow"
    explain_flow "$who" "$proto" "$fam" "$d/$i" &
    pids+=("$!")
    probe "$who" "$proto" "$fam" >"$d/$i.obs" &
    pids+=("$!")
    udp_sport=$((udp_sport + 4))
    i=$((i + 1))
  done
  wait "${pids[@]}"
  read_explains "$d"
  retry_timeouts "$d"
  evaluate_seed "$seed" "$d"
  ((udp_sport < 60000)) || udp_sport=20000
}

# Every path of a JSON document (array indices as []) with its value's type.
# shellcheck disable=SC2016 # jq, not shell
TYPES_JQ='paths as $p | "\($p | map(if type == "number" then "[]" else tostring end) | join("."))\t\(getpath($p) | type)"'
declare -A TYPES=()

# read_explains DIR: one jq for the seed's 11 documents (a process per
# document costs more than the connections on a busy machine): EXPLAINED[i]
# is EXPLAIN_JQ's line, or INVALID; TYPES collects every path's types.
read_explains() {
  local d=$1 i files=() line rc
  for ((i = 0; i < ${#FLOWS[@]}; i++)); do
    read -r rc <"$d/$i.rc"
    [[ ($rc == 0 || $rc == 1) && -s $d/$i.json ]] || echo '{}' >"$d/$i.json"
    files+=("$d/$i.json")
  done
  EXPLAINED=()
  while IFS= read -r line; do
    case $line in
      F$'\t'*) EXPLAINED+=("${line#F$'\t'}") ;;
      T$'\t'*) TYPES[${line#T$'\t'}]=1 ;;
    esac
  done < <(jq -r -n "def explain_line: $EXPLAIN_JQ;
    [inputs] as \$docs
    | (\$docs[] | if (.explanations | length? // 0) == 1 then \"F\t\" + explain_line else \"F\tINVALID\" end),
      ([\$docs[] | $TYPES_JQ] | unique[] | \"T\t\" + .)" "${files[@]}")
  ((${#EXPLAINED[@]} == ${#FLOWS[@]})) || fail "jq read ${#EXPLAINED[@]} of ${#FLOWS[@]} explain documents in $d"
}

# retry_timeouts DIR: flows explain calls accepted that timed out, tried
# again (all at once) with a longer wait, so that a slow answer is not
# taken for a drop. A flow whose disagreement three seeds have already
# confirmed is not retried: the test fails on it anyway.
retry_timeouts() {
  local d=$1 i obs pids=() retried=()
  for ((i = 0; i < ${#FLOWS[@]}; i++)); do
    read -r obs <"$d/$i.obs"
    if [[ $obs == dropped && ${EXPLAINED[i]} == accepted$'\t'* ]] && ((${CONFIRMED[${FLOWS[i]}]:-0} < 3)); then
      # shellcheck disable=SC2086 # WHO PROTO FAM
      PROBE_TRIES=1 PROBE_WAIT=1.5 probe ${FLOWS[i]} >"$d/$i.obs2" &
      pids+=("$!")
      retried+=("$i")
      udp_sport=$((udp_sport + 4))
    fi
  done
  ((${#pids[@]} > 0)) || return 0
  wait "${pids[@]}"
  for i in "${retried[@]}"; do
    N_RETRIED=$((N_RETRIED + 1))
    read -r obs <"$d/$i.obs2"
    if [[ $obs != dropped ]]; then
      N_SLOW=$((N_SLOW + 1))
      cp "$d/$i.obs2" "$d/$i.obs"
    else
      CONFIRMED[${FLOWS[i]}]=$((${CONFIRMED[${FLOWS[i]}]:-0} + 1))
    fi
  done
}

json_problem() { # FLOW_NAME SEED WHAT
  local k="$1: $3"
  [[ -n ${JSON_PROBLEM[$k]:-} ]] || JSON_PROBLEM[$k]="seed $2"
}

evaluate_seed() {
  local seed=$1 d=$2 i=0 flow who proto fam rc verdict can_accept can_drop host iif why observed kind c
  local before=$N_DISAGREE line='' want_rc
  N_RULESETS=$((N_RULESETS + 1))
  for c in $SEED_CLASSES; do CLASS_RULESETS[$c]=$((${CLASS_RULESETS[$c]:-0} + 1)); done
  for flow in "${FLOWS[@]}"; do
    read -r who proto fam <<<"$flow"
    flow_vars "$who" "$proto" "$fam"
    flow_name "$who" "$proto" "$fam"
    N_FLOWS=$((N_FLOWS + 1))
    read -r rc <"$d/$i.rc"
    read -r observed <"$d/$i.obs"
    kind=$observed
    [[ $kind == refused || $kind == diverted* ]] && kind=dropped
    [[ $kind == accepted ]] && K_ACCEPTED=$((K_ACCEPTED + 1)) || K_DROPPED=$((K_DROPPED + 1))
    if [[ ${EXPLAINED[i]} == INVALID ]]; then
      json_problem "$NAME" "$seed" "explain exited $rc without one explanation: $(head -c 300 "$d/$i.err")"
      line+=" ?${kind:0:1}"
      i=$((i + 1))
      continue
    fi
    IFS=$'\t' read -r verdict can_accept can_drop host iif why <<<"${EXPLAINED[i]}"
    # Exit 0 only for accepted without a port conflict (another table's DNAT
    # of the published port is one).
    want_rc=1
    [[ $verdict != accepted ]] || ! grep -q '"conflicts": \[\]' "$d/$i.json" || want_rc=0
    [[ $rc == "$want_rc" ]] || json_problem "$NAME" "$seed" "exit code $rc for verdict $verdict"
    [[ $host == "$DST" ]] || json_problem "$NAME" "$seed" "flow.host is $host, the connection goes to $DST"
    [[ -z $IIF || $iif == "$IIF" ]] || json_problem "$NAME" "$seed" "flow.iif is $iif, the connection comes in by $IIF"
    case $verdict in
      accepted) E_ACCEPTED=$((E_ACCEPTED + 1)) ;;
      dropped) E_DROPPED=$((E_DROPPED + 1)) ;;
      undetermined) E_UNDETERMINED=$((E_UNDETERMINED + 1)) ;;
      *) json_problem "$NAME" "$seed" "verdict '$verdict'" ;;
    esac
    line+=" ${verdict:0:1}${kind:0:1}"
    if [[ ($verdict == accepted || $verdict == dropped) && $verdict != "$kind" ]]; then
      disagreement "$seed" "$flow" "$NAME" "$verdict" "$observed" "$why"
      line+='!'
    fi
    i=$((i + 1))
  done
  note "seed $seed [$SEED_CLASSES]:$line  ($((N_DISAGREE - before)) disagreeing, $(($(now_ms) - SEED_T0)) ms)"
}

# disagreement SEED FLOW NAME VERDICT OBSERVED WHY: a line of
# $T/disagree.tsv for the report; the first of a kind (flow, verdict,
# outcome, classes) printed in full.
disagreement() {
  local seed=$1 flow=$2 name=$3 verdict=$4 observed=$5 why=$6 key who proto fam classes
  read -ra classes <<<"$SEED_CLASSES"
  N_DISAGREE=$((N_DISAGREE + 1))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$seed" "${#classes[@]}" "$SEED_CLASSES" "$name" "$verdict" "${observed%% *}" >>"$T/disagree.tsv"
  key="$name $verdict ${observed%% *} $SEED_CLASSES"
  [[ -z ${SEEN_KIND[$key]:-} ]] || return 0
  SEEN_KIND[$key]=1
  ((DETAILS_SHOWN < DETAILS)) || return 0
  DETAILS_SHOWN=$((DETAILS_SHOWN + 1))
  read -r who proto fam <<<"$flow"
  flow_vars "$who" "$proto" "$fam"
  printf '\nDISAGREEMENT seed %s (FWDIFF_SEEDS=1 FWDIFF_FIRST_SEED=%s): %s %s -> %s:%s\n' \
    "$seed" "$seed" "$name" "$SRC" "$DSTURL" "$PORT" >&2
  printf '  explain: %s (%s)\n  kernel:  %s\n  ruleset, sysctls, legacy commands:\n' "$verdict" "$why" "$observed" >&2
  sed 's/^/    /' "$SEED_FILE" >&2
  printf "  explain's text:\n" >&2
  timeout "$NETD_CMD_TIMEOUT" "$NETD" firewall explain "web:$PORT/$proto" --from "$SRC" -c "$FW_CFG" 2>&1 | sed 's/^/    /' >&2 || true
}

# The disagreements by flow (count and first seeds of each verdict against
# outcome), and by generator class: disagreeing flows, rulesets with one
# out of those with the class, and the simplest example (fewest classes,
# then the flow that disagrees least often overall, so that a flow wrong
# under every ruleset does not hide what the class itself does).
disagreement_tables() {
  local f=$T/disagree.tsv c
  note "by flow (explain -> kernel: count, first seeds):"
  awk -F'\t' '{k = $4 "\t" $5 " -> " $6; n[k]++; if (n[k] <= 5) s[k] = s[k] " " $1}
    END {for (k in n) {split(k, a, "\t"); printf "     %-22s %-24s %4d,%s\n", a[1], a[2], n[k], s[k]}}' "$f" | sort >&2
  note "by class (disagreeing flows; rulesets that have one / with the class; simplest example):"
  for c in $(python3 "$ITEST_DIR/fwgen.py" --list-classes); do
    [[ -n ${CLASS_RULESETS[$c]:-} ]] || continue
    awk -F'\t' -v c="$c" -v total="${CLASS_RULESETS[$c]}" '
      NR == FNR {flows[$4]++; next}
      (" " $3 " ") ~ (" " c " ") {
        n++; if (!($1 in seen)) {seen[$1] = 1; r++}
        k = sprintf("%03d %06d %06d", $2, flows[$4], $1)
        if (best == "" || k < best) {best = k; ex = "seed " $1 " [" $3 "]: " $4 ", explain " $5 ", kernel " $6}
      }
      END {printf "     %-12s %4d  %3d / %-4d %s\n", c, n, r, total, ex}' "$f" "$f" >&2
  done
}

report() {
  local k elapsed=$((SECONDS - started)) mixed
  step "explain's verdicts against the kernel"
  [[ ! -s $T/disagree.tsv ]] || disagreement_tables
  mixed=$(printf '%s\n' "${!TYPES[@]}" |
    awk -F'\t' '$2 != "null" {t[$1] = t[$1] (t[$1] ? "," : "") $2} END {for (p in t) if (t[p] ~ /,/) print p ": " t[p]}' | sort)
  if [[ -n $mixed ]]; then
    note "JSON fields with more than one type (null aside):"
    sed 's/^/     /' <<<"$mixed" >&2
  fi
  if ((${#JSON_PROBLEM[@]} > 0)); then
    note "JSON problems (first seed):"
    for k in "${!JSON_PROBLEM[@]}"; do printf '     %s (%s)\n' "$k" "${JSON_PROBLEM[$k]}"; done | sort >&2
  fi
  note "$N_RULESETS rulesets (seeds $FIRST..$((FIRST + SEEDS - 1))), $N_FLOWS flows: the kernel accepted $K_ACCEPTED, dropped $K_DROPPED"
  note "explain: $E_ACCEPTED accepted, $E_DROPPED dropped, $E_UNDETERMINED undetermined ($(awk -v u="$E_UNDETERMINED" -v n="$N_FLOWS" 'BEGIN {printf "%.1f", n ? 100 * u / n : 0}')% undetermined)"
  note "$N_DISAGREE definite verdicts the kernel contradicts; $N_RETRIED timed-out flows tried again, $N_SLOW of them answered"
  note "elapsed: ${elapsed} s ($(awk -v e="$elapsed" -v n="$N_RULESETS" 'BEGIN {printf "%.2f", e / n}') s a ruleset)"
  ((K_ACCEPTED > 0 && K_DROPPED > 0)) || fail "every flow had the same outcome: the sandbox, not the firewall, decided"
  local n_mixed=0
  [[ -z $mixed ]] || n_mixed=$(wc -l <<<"$mixed")
  ((N_DISAGREE + n_mixed + ${#JSON_PROBLEM[@]} == 0)) ||
    fail "$N_DISAGREE disagreements with the kernel, $n_mixed JSON fields of two types, ${#JSON_PROBLEM[@]} other JSON problems (above)"
}
