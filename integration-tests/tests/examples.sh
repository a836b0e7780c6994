#!/usr/bin/env bash
# Every example works: each examples/*.toml passes `netd check`, applies,
# re-applies with no changes and is destroyed cleanly; all of them applied one
# after the other in one sandbox (as scripts/demo.sh does) coexist; and the
# other examples (systemd units, podman.md) only name namespaces that the TOML
# examples create.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq

shopt -s nullglob
tomls=("$EXAMPLES"/*.toml)
shopt -u nullglob
[[ ${#tomls[@]} -gt 0 ]] || fail "no examples/*.toml"

# Namespace names defined by the TOML examples.
defined=$(grep -ho '^\[namespace\.[A-Za-z0-9_-]*\]$' "${tomls[@]}" | sed 's/^\[namespace\.//; s/\]$//' | sort -u)
note "namespaces in the examples: $(tr '\n' ' ' <<<"$defined")"

for f in "${tomls[@]}"; do
  step "$(basename "$f") on its own"
  netd_ok check -c "$f"
  assert_contains "$OUT" "$f: ok (" "netd check"
  netd_ok apply -c "$f"
  # shellcheck disable=SC2013 # names have no spaces
  for ns in $(grep -o '^\[namespace\.[A-Za-z0-9_-]*\]$' "$f" | sed 's/^\[namespace\.//; s/\]$//'); do
    [[ $(stat -f -c %T "$NETNS_DIR/$ns" 2>/dev/null) == nsfs ]] || fail "$(basename "$f"): $NETNS_DIR/$ns is not a pinned namespace"
  done
  assert_converged "$f"
  netd_ok destroy --all
  assert_eq "$(netns_count)" 0 "namespaces after destroy --all"
  assert_eq "$(netd_links | tr '\n' ' ')" "" "netd links after destroy --all"
done

step "all examples one after the other in one sandbox"
for f in "${tomls[@]}"; do
  netd_ok apply -c "$f"
done
# One host has one config: namespaces and bridges of the earlier examples stay
# (netd removes those only with --prune), but host-wide objects such as table
# inet netd follow the config applied last.
assert_converged "${tomls[-1]}"
netd_ok status --json
assert_eq "$(jqr "$OUT" '.namespaces[].name' | sort | tr '\n' ' ')" "$(tr '\n' ' ' <<<"$defined")" "namespaces in netd status"

step "non-TOML examples reference namespaces that the TOML examples create"
others=()
while IFS= read -r f; do others+=("$f"); done < <(find "$EXAMPLES" -type f ! -name '*.toml' | sort)
[[ ${#others[@]} -gt 0 ]] || fail "no systemd/podman examples"
for f in "${others[@]}"; do
  rel=${f#"$ROOT"/}
  paths=$(grep -o '/run/netns/[A-Za-z0-9_%.-]\+' "$f" | sed 's/[.]*$//' | sort -u || true)
  if [[ -z $paths ]]; then
    # netd's own unit attaches nothing; it is checked below.
    [[ $rel == examples/systemd/netd.service ]] && continue
    fail "$rel names no /run/netns/ path"
  fi
  for p in $paths; do
    name=${p#/run/netns/}
    if [[ $name == %i ]]; then
      # A template unit: its documented instances must be real namespaces.
      instances=$(grep -o '@[A-Za-z0-9_-]*\.service' "$f" | sed 's/^@//; s/\.service$//' | sort -u || true)
      [[ -n $instances ]] || fail "$rel uses /run/netns/%i but shows no instance (app@NAME.service)"
      for i in $instances; do
        grep -qx "$i" <<<"$defined" || fail "$rel: instance $i is not a namespace in examples/*.toml"
      done
    else
      grep -qx "$name" <<<"$defined" || fail "$rel: $p is not a namespace in examples/*.toml"
    fi
  done
  note "$rel: $(tr '\n' ' ' <<<"$paths")ok"
done
# What the systemd units say and whether systemd accepts them: systemd_units.sh.
