#!/usr/bin/env bash
# A config with one mistake of each kind: `netd check` exits 2 and names every
# mistake as FILE:LINE:COL; `netd apply` with it exits 2 and creates nothing.
# An unknown key (a schema error, which stops parsing) is tested on its own.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq

bad=$T/bad.toml
cat >"$bad" <<'TOML'
[bridge.br-bad]
addresses = ["10.88.0.1/33"]

[namespace.web]
gateway = ["10.99.0.1"]

[[namespace.web.interface]]
name = "eth0"
kind = "veth"
bridge = "br-missing"
addresses = ["10.88.0.2/24"]

[[namespace.web.interface]]
name = "this-name-is-too-long"
kind = "veth"
bridge = "br-bad"
addresses = ["10.88.0.2/24"]
TOML
# Line of each mistake in $bad (a duplicate may be reported on either line),
# and a word the message must contain.
mistakes=(
  "2|10.88.0.1/33|bad CIDR"
  "5|10.99.0.1|unreachable gateway"
  "10|br-missing|undefined bridge"
  "14|this-name-is-too-long|interface name longer than 15 bytes"
  "11|17|10.88.0.2|duplicate address"
)

unknown=$T/unknown.toml
cat >"$unknown" <<'TOML'
[bridge.br-demo]
addresses = ["10.88.0.1/24"]

[namespace.web]
gatway = "10.88.0.1"
TOML

# assert_located FILE LINES WORD WHAT: a line of ERR is FILE:LINE:COL: ... WORD
assert_located() {
  local file=$1 lines=$2 word=$3 what=$4 l
  while IFS= read -r l; do
    if [[ $l =~ ^"$file":($lines):[0-9]+:\ .+ && $l == *"$word"* ]]; then
      note "$what: $l"
      return 0
    fi
  done <<<"$ERR"
  fail "no error line '$file:{$lines}:COL: ... $word ...' for the $what in:
$ERR"
}

assert_nothing_created() {
  assert_eq "$(netns_count)" 0 "entries in $NETNS_DIR"
  assert_eq "$(ip -j link show | jq -r '.[].ifname | select(. != "lo")' | tr '\n' ' ')" "" "links besides lo"
  assert_eq "$(state_files | tr '\n' ' ')" "" "files in $STATE_DIR"
}

step "netd check names every mistake"
netd_exit 2 check -c "$bad"
for m in "${mistakes[@]}"; do
  IFS='|' read -r -a f <<<"$m"
  if [[ ${#f[@]} == 4 ]]; then
    assert_located "$bad" "${f[0]}|${f[1]}" "${f[2]}" "${f[3]}"
  else
    assert_located "$bad" "${f[0]}" "${f[1]}" "${f[2]}"
  fi
done
assert_eq "$OUT" "" "stdout of a failed check"

step "netd plan and apply refuse it and create nothing"
netd_exit 2 plan -c "$bad"
assert_nothing_created
netd_exit 2 apply -c "$bad"
assert_contains "$ERR" "$bad:2:" "apply's errors"
assert_nothing_created
netd_exit 2 apply -c "$bad" --json
assert_nothing_created

step "an unknown key is named with its position"
netd_exit 2 check -c "$unknown"
assert_located "$unknown" 5 gatway "unknown key"
netd_exit 2 apply -c "$unknown"
assert_nothing_created

step "usage errors exit 2"
netd_exit 2 frobnicate
netd_exit 2 apply --no-such-flag
netd_exit 2 exec
assert_nothing_created
