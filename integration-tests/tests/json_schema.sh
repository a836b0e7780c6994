#!/usr/bin/env bash
# Every --json document validates against its JSON Schema in docs/schema:
# check, plan, apply, status (converged, drifted, with a namespace missing),
# destroy, firewall show/explain/check, and the error documents of a config
# error, a conflict, a strict refusal, a usage and a runtime error, each
# with the exit code the same command has without --json. Numbers must be
# JSON numbers. The validator is shown to reject a broken document and a
# document checked against the wrong schema, so this test can fail.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip nft jq python3 flock
if ! python3 -c 'import jsonschema' 2>/dev/null; then
  is_ci && fail "python3 cannot import jsonschema (scripts/install-deps.sh installs python3-jsonschema)"
  printf 'SKIP: python3-jsonschema is missing (scripts/install-deps.sh installs it)\n' >&2
  exit 77
fi

SCHEMAS=$ROOT/docs/schema
# valid SCHEMA WHAT: OUT (netd's whole stdout) is one document valid under SCHEMA.
valid() {
  python3 "$ITEST_DIR/validate-json.py" "$SCHEMAS" "$1" <<<"$OUT" ||
    fail "$2: stdout is not valid under docs/schema/$1"
  assert_json "$OUT" '.schema_version == 1' "$2: schema_version"
}
# failure CODE KIND ARGS...: netd exits CODE and prints an error document of KIND.
failure() {
  local code=$1 kind=$2
  shift 2
  netd_exit "$code" "$@"
  valid error.json "netd $*"
  assert_json "$OUT" ".error.kind == \"$kind\" and .error.exit_code == $code" "netd $*: error kind and code"
  [[ -n $ERR ]] || fail "netd $*: the human text on stderr is gone"
}

cat >"$T/js.toml" <<'TOML'
[bridge.br-js]
addresses = ["10.88.70.1/24", "fd88:70::1/64"]

[namespace.web]
gateway = "10.88.70.1"
sysctl = { "net.ipv4.ip_forward" = "1" }

[[namespace.web.interface]]
name = "eth0"
bridge = "br-js"
mtu = 1450
addresses = ["10.88.70.2/24", "fd88:70::2/64"]

[[namespace.web.publish]]
port = 8080
to_port = 80

[[namespace.web.publish]]
port = "9000-9001"
proto = "udp"

[namespace.db]
gateway = "10.88.70.1"

[[namespace.db.interface]]
name = "eth0"
bridge = "br-js"
addresses = ["10.88.70.3/24"]
TOML

step "check, plan, apply"
netd_ok check -c "$T/js.toml" --json
valid check.json "check"
assert_json "$OUT" '.namespaces == 2 and .bridges == 1 and .publishes == 4' "check counts"
netd_exit 3 plan -c "$T/js.toml" --json --exit-code
valid plan.json "plan"
assert_json "$OUT" 'any(.changes[]; .kind == "veth" and .mtu == 1450)' "plan: veth mtu is a number"
assert_json "$OUT" 'any(.changes[]; .kind == "address" and .prefix_len == 64)' "plan: prefix length is a number"
netd_ok apply -c "$T/js.toml" --json
valid apply.json "apply"
assert_json "$OUT" '.ok and (.errors | length) == 0 and (.changes | length) > 0' "apply result"
netd_ok plan -c "$T/js.toml" --exit-code
netd_ok status -c "$T/js.toml" --json
valid status.json "status, converged"
assert_json "$OUT" '.ok and (.drift | length) == 0 and (.missing | length) == 0' "status, converged"
assert_json "$OUT" '.bridges[0].addresses | any(.address == "10.88.70.1" and .prefix_len == 24)' "status: bridge address"

step "drift: an address deleted, an MTU changed, a namespace unpinned"
ip -n web addr del 10.88.70.2/24 dev eth0
ip -n web link set eth0 mtu 1400
ip netns del db
netd_exit 3 status -c "$T/js.toml" --json
valid status.json "status, drifted"
assert_json "$OUT" '(.ok | not) and any(.drift[]; .kind == "address" and .address == "10.88.70.2" and .prefix_len == 24)' "status: the deleted address"
assert_json "$OUT" 'any(.drift[]; .kind == "veth" and .ns == "web" and .mtu == 1450)' "status: the changed MTU"
assert_json "$OUT" 'any(.missing[]; .kind == "namespace" and .name == "db")' "status: db missing"
netd_exit 3 status --json
valid status.json "status without a config"
assert_json "$OUT" '.config == null and (.drift | length) == 0 and any(.missing[]; .name == "db")' "status without a config"
netd_exit 3 plan -c "$T/js.toml" --json --exit-code
valid plan.json "plan, drifted"
netd_ok apply -c "$T/js.toml" --json
valid apply.json "apply, repairing"
netd_ok status -c "$T/js.toml" --json
valid status.json "status, repaired"

step "the host firewall: show, explain, check"
nft -f - <<'NFT'
table inet filter {
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; }
}
NFT
on_exit "nft delete table inet filter"
netd_ok firewall show --json
valid firewall-show.json "firewall show"
assert_json "$OUT" 'any(.tables[]; .name == "filter" and (.base_chains[0].priority | type) == "number")' "show: priority is a number"
netd_exit 1 firewall explain web:8080 -c "$T/js.toml" --json
valid firewall-explain.json "firewall explain"
assert_json "$OUT" '.explanations[0].verdict == "dropped" and (.explanations[0].fixes | length) > 0' "explain: dropped, with a fix"
netd_exit 1 firewall check -c "$T/js.toml" --json
valid firewall-check.json "firewall check"
assert_json "$OUT" 'any(.publishes[]; .port == {"start": 9000, "end": 9001}) and .dropped > 0' "check: port range as numbers"

step "failures are JSON documents too, with the same exit codes"
cat >"$T/bad.toml" <<'TOML'
[bridge.br-js]
mtu = 40
TOML
failure 2 config check -c "$T/bad.toml" --json
assert_json "$OUT" 'any(.error.errors[]; .line == 2 and .key == "bridge.br-js.mtu" and (.file | endswith("bad.toml")))' "config error located"
failure 2 config plan -c "$T/bad.toml" --json
failure 2 config apply -c "$T/bad.toml" --json
failure 2 usage firewall explain nowhere:80 -c "$T/js.toml" --json
failure 1 runtime destroy nothere --json
# A writer lock held by another process (one that writes no pid).
flock "$STATE_DIR/lock" sleep 10 &
lock_holder=$!
on_exit "kill $lock_holder"
sleep 0.3
failure 1 busy apply -c "$T/js.toml" --json --wait 0
assert_json "$OUT" '.error | has("pid")' "busy: the holder's pid field"
kill "$lock_holder"
wait "$lock_holder" 2>/dev/null || true

ip link add br-foreign type bridge
on_exit "ip link del br-foreign"
sed 's/br-js/br-foreign/g; s/10\.88\.70/10.88.71/g; s/fd88:70/fd88:71/g; s/namespace\.web/namespace.w2/g; s/namespace\.db/namespace.d2/g' \
  "$T/js.toml" >"$T/conflict.toml"
failure 1 conflict apply -c "$T/conflict.toml" --json
assert_json "$OUT" '.error.conflicts | any(.object == "bridge br-foreign")' "the conflict names the bridge"

cat >"$T/strict.toml" <<'TOML'
mode = "strict"
[strict]
allow_ports = ["tcp:8000-8100"]
TOML
{
  printf '[daemon]\npolicy = "%s"\n\n' "$T/strict.toml"
  cat "$T/js.toml"
} >"$T/strict-js.toml"
failure 1 strict apply -c "$T/strict-js.toml" --json
assert_json "$OUT" '.error.refusals | length > 0' "strict refusals listed"
failure 1 strict plan -c "$T/strict-js.toml" --json

step "destroy"
netd_ok destroy db --json
valid apply.json "destroy db"
assert_json "$OUT" 'any(.changes[]; .op == "delete" and .kind == "namespace" and .name == "db")' "destroy db"
netd_ok destroy --all --json
valid apply.json "destroy --all"
assert_json "$OUT" 'any(.changes[]; .op == "delete" and .kind == "bridge" and .name == "br-js")' "a bridge is a bridge when deleted too"

step "the validator rejects what breaks a schema"
netd_ok plan -c "$T/js.toml" --json
OUT=$(jq '.changes[0].mtu = "1500"' <<<"$OUT")
if python3 "$ITEST_DIR/validate-json.py" "$SCHEMAS" plan.json <<<"$OUT" 2>/dev/null; then
  fail "an MTU given as a string passed plan.json"
fi
netd_ok status --json
if python3 "$ITEST_DIR/validate-json.py" "$SCHEMAS" plan.json <<<"$OUT" 2>/dev/null; then
  fail "a status document passed plan.json"
fi
