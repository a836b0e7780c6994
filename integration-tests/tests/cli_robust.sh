#!/usr/bin/env bash
# The command line holds up against careless and hostile use: a reader that
# closes the pipe early, config paths that name a huge file, a FIFO or a
# device, values with control characters or no end, `exec` names that try
# to leave the netns dir, relative directories, a user without root's
# capabilities, and `-c` before the command.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq nft setpriv timeout

cfg=$T/scale.toml
"$ITEST_DIR/gen-config.sh" 20 --publish >"$cfg"
netd_ok apply -c "$cfg"

# no_panic WHAT: the last netd run (stderr in $T/err) did not panic.
no_panic() {
  if grep -q 'panicked' "$T/err"; then
    fail "$1 panicked: $(cat "$T/err")"
  fi
}

step "writing into a closed pipe ends quietly"
# A big firewall, so that `show` writes far more than a pipe holds.
{
  echo 'table inet filler {'
  echo ' chain input { type filter hook input priority 10; policy accept;'
  for ((i = 0; i < 3000; i++)); do echo "  tcp dport $((10000 + i)) counter accept"; done
  echo ' }'
  echo '}'
} >"$T/filler.nft"
nft -f "$T/filler.nft"
for cmd in "status --json" "status" "plan -c $cfg --json" "firewall show" "firewall show --json" "--help" "firewall check -c $cfg"; do
  # shellcheck disable=SC2086
  set +o pipefail
  timeout 60 "$NETD" $cmd 2>"$T/err" | head -c1 >/dev/null
  rc=${PIPESTATUS[0]}
  set -o pipefail
  no_panic "netd $cmd | head -c1"
  # firewall check exits 1 when a publish is not accepted (here netd's
  # table is not loaded): what matters is that it survives the pipe.
  want=0
  [[ $cmd != "firewall check"* ]] || want='[01]'
  # shellcheck disable=SC2053 # $want is a pattern
  [[ $rc == $want ]] || fail "netd $cmd | head -c1 exited $rc, want $want: $(cat "$T/err")"
  set +o pipefail
  # shellcheck disable=SC2086
  "$NETD" $cmd 2>"$T/err" | true
  rc=${PIPESTATUS[0]}
  set -o pipefail
  no_panic "netd $cmd | true"
  # shellcheck disable=SC2053 # $want is a pattern
  [[ $rc == $want ]] || fail "netd $cmd | true exited $rc, want $want: $(cat "$T/err")"
done
set +o pipefail
"$NETD" firewall show 2>"$T/err" | head -1 >/dev/null
set -o pipefail
no_panic "netd firewall show | head -1"
nft delete table inet filler

step "the config file is a regular file of at most 4 MiB"
big=$T/big.toml
{
  cat "$cfg"
  head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' '#'
} >"$big"
netd_exit 2 check -c "$big"
assert_contains "$ERR" "$big" "the error names the file"
assert_contains "$ERR" "at most 4 MiB"
mkfifo "$T/fifo.toml"
netd_exit 2 check -c "$T/fifo.toml"
assert_contains "$ERR" "a FIFO"
assert_contains "$ERR" "$T/fifo.toml"
netd_exit 2 plan -c /dev/zero
assert_contains "$ERR" "a device"
netd_exit 2 check -c "$T"
assert_contains "$ERR" "a directory"

step "values echoed in errors are cut and escaped"
long=$(printf 'x%.0s' {1..200})
cat >"$T/evil.toml" <<TOML
[namespace."a\u001b[2Jb\nforged: line"]

[namespace.${long}]
TOML
netd_exit 2 check -c "$T/evil.toml"
assert_not_contains "$ERR" $'\e' "errors for names with control characters"
assert_contains "$ERR" '\x1b[2J' "the escape character, escaped"
if grep -q '^forged' "$T/err"; then fail "a name forged a line: $ERR"; fi
assert_not_contains "$ERR" "$(printf 'x%.0s' {1..65})" "errors for a 200-character name"
assert_contains "$ERR" "…" "a cut value"
netd_exit 2 destroy $'\e]0;title\a'"$long"
assert_not_contains "$ERR" $'\e' "destroy with a hostile name"
assert_not_contains "$ERR" $'\a' "destroy with a hostile name"
assert_not_contains "$ERR" "$(printf 'x%.0s' {1..65})" "destroy with a long name"
netd_exit 2 status --wait $'1\e[31m'
assert_not_contains "$ERR" $'\e' "a usage error"

step "exec takes only names of pinned namespaces"
netd_exit 2 exec ../x -- true
assert_contains "$ERR" "not a valid namespace name"
netd_exit 2 exec "ns1/../ns2" -- true
netd_exit 1 exec nosuch -- true
assert_contains "$ERR" "does not exist"
ln -s "$NETNS_DIR/ns1" "$NETNS_DIR/alias"
touch "$NETNS_DIR/plain"
netd_exit 1 exec alias -- true
assert_contains "$ERR" "not a pinned namespace"
netd_exit 1 exec plain -- true
rm -f "$NETNS_DIR/alias" "$NETNS_DIR/plain"
netd_ok exec ns1 -- ip -br link show eth0
assert_contains "$OUT" "eth0"

step "--netns-dir and --state-dir must be absolute"
netd_exit 2 --netns-dir run/netns status
assert_contains "$ERR" "not an absolute path"
netd_exit 2 plan -c "$cfg" --state-dir ./state
assert_contains "$ERR" "not an absolute path"

step "-c works before the command"
netd_ok -c "$cfg" plan
assert_eq "$(trim "$OUT")" "no changes" "netd -c FILE plan"
netd_ok -c "$cfg" check
netd_exit 2 -c "$cfg" check -c "$cfg"
assert_contains "$ERR" "give it once"

step "without CAP_NET_ADMIN and CAP_SYS_ADMIN, netd says it needs root"
unpriv() { setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- "$NETD" "$@"; }
for cmd in "status" "plan -c $cfg" "apply -c $cfg" "destroy --all" "exec ns1 -- true" "firewall show"; do
  rc=0
  # shellcheck disable=SC2086
  unpriv $cmd >"$T/out" 2>"$T/err" || rc=$?
  [[ $rc == 1 ]] || fail "unprivileged netd $cmd exited $rc, want 1: $(cat "$T/err")"
  assert_contains "$(cat "$T/err")" "netd needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)" "unprivileged netd $cmd"
  assert_not_contains "$(cat "$T/err")" "os error" "unprivileged netd $cmd"
done
unpriv check -c "$cfg" >"$T/out" 2>"$T/err" || fail "netd check needs no privileges: $(cat "$T/err")"
# Nothing changed meanwhile.
assert_converged "$cfg"
