#!/usr/bin/env bash
# One writer at a time: 20 seeded rounds of 2-3 overlapping `apply --prune`
# and `destroy --all` runs with the same, different and overlapping configs.
# Each run exits 0 or fails with the lock message (those started with
# --wait 0); afterwards the kernel and the state are exactly the config of
# the last writer: no double mounts, no leaked pins, links or nft rules, and
# the state lists exactly the live namespaces. SEED=N replays a run.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq nft

SEED=${SEED:-$RANDOM}
RANDOM=$SEED
note "seed $SEED (SEED=$SEED replays this run)"

# gen FIRST LAST: namespaces cFIRST..cLAST on br-c, each with a veth, an
# address, a default route and a published port.
gen() {
  printf '[bridge.br-c]\naddresses = ["10.77.0.1/24"]\n'
  for ((i = $1; i <= $2; i++)); do
    printf '\n[namespace.c%d]\ngateway = ["10.77.0.1"]\n' "$i"
    printf '[[namespace.c%d.interface]]\nname = "eth0"\nkind = "veth"\nbridge = "br-c"\naddresses = ["10.77.0.%d/24"]\n' "$i" $((i + 10))
    printf '[[namespace.c%d.publish]]\nport = %d\nto_port = 80\n' "$i" $((9000 + i))
  done
}
gen 1 6 >"$T/a.toml"
gen 4 10 >"$T/b.toml"
gen 1 6 >"$T/a2.toml" # the same namespaces as a, in another file
configs=(a b a2)

expected_ns() { # CONFIG: its namespaces, sorted
  grep -o '^\[namespace\.[^].]*\]' "$T/$1.toml" | sed 's/^\[namespace\.//; s/\]$//' | sort
}

check_state_is() { # CONFIG|none
  local want pins state mounts
  if [[ $1 == none ]]; then want=''; else want=$(expected_ns "$1" | tr '\n' ' '); fi
  pins=$(netns_entries | tr '\n' ' ')
  assert_eq "$pins" "$want" "pinned namespaces after round $round (last writer: $1)"
  state=''
  [[ -f $STATE_DIR/state.json ]] && state=$(jq -r '.namespaces | keys[]' "$STATE_DIR/state.json" | tr '\n' ' ')
  assert_eq "$state" "$want" "namespaces in the state after round $round"
  # Each pin is mounted exactly once.
  mounts=$(awk -v d="$NETNS_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort | uniq -d)
  assert_eq "$mounts" "" "pins mounted twice after round $round"
  if [[ $1 == none ]]; then
    assert_eq "$(netd_links | tr '\n' ' ')" "" "netd links after destroy --all (round $round)"
    nft list table inet netd >/dev/null 2>&1 && fail "table inet netd left after destroy --all (round $round)"
    return 0
  fi
  # One host end per namespace plus the bridge.
  assert_eq "$(netd_links | wc -l)" "$(($(expected_ns "$1" | wc -l) + 1))" "netd links after round $round"
  nft list table inet netd >/dev/null || fail "table inet netd missing after round $round"
  netd_ok plan -c "$T/$1.toml" --json
  assert_json "$OUT" '.changes | length == 0' "plan of the last writer's config after round $round"
}

for ((round = 1; round <= 20; round++)); do
  n=$((2 + RANDOM % 2))
  ops=()
  for ((k = 0; k < n; k++)); do
    case $((RANDOM % 4)) in
      3) ops+=("destroy") ;;
      *) ops+=("${configs[RANDOM % 3]}") ;;
    esac
  done
  step "round $round: ${ops[*]}"
  pids=()
  for ((k = 0; k < n; k++)); do
    wait_s=30
    ((RANDOM % 3 == 0)) && wait_s=0
    (
      rc=0
      if [[ ${ops[k]} == destroy ]]; then
        "$NETD" --wait "$wait_s" destroy --all >"$T/r$k.out" 2>"$T/r$k.err" || rc=$?
      else
        "$NETD" --wait "$wait_s" apply --prune -c "$T/${ops[k]}.toml" >"$T/r$k.out" 2>"$T/r$k.err" || rc=$?
      fi
      echo "$rc $(date +%s%N)" >"$T/r$k.rc"
    ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  last='' last_t=0
  for ((k = 0; k < n; k++)); do
    read -r rc t <"$T/r$k.rc"
    if [[ $rc == 0 ]]; then
      if ((t > last_t)); then last_t=$t last=${ops[k]}; fi
    elif grep -q 'another netd \((pid [0-9]*) \)\?is applying' "$T/r$k.err"; then
      note "${ops[k]} found the lock taken: $(head -1 "$T/r$k.err")"
    else
      cat "$T/r$k.err" >&2
      fail "round $round: netd ${ops[k]} exited $rc without the lock message"
    fi
  done
  [[ -n $last ]] || fail "round $round: no writer succeeded"
  [[ $last == destroy ]] && last=none
  check_state_is "$last"
done
