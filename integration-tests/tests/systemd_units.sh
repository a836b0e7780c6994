#!/usr/bin/env bash
# The units in examples/systemd/ load in systemd as written: `systemd-analyze
# verify` accepts them without a single complaint (it only warns about an
# unknown key or a bad value, so any line about our units fails), and a unit
# broken on purpose is caught. Then what the README promises of them: netd
# runs as a Type=notify daemon after the host firewall, with a watchdog, keeps
# /run/netd across restarts, stops its own processes, and has no mount
# namespace sandboxing that would hide the pins; an application joins
# /run/netns/NAME and is not stopped or restarted with netd.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool systemd-analyze

src=$EXAMPLES/systemd
units=$T/units
bin=$T/bin
mkdir -p "$units" "$bin"

# copy UNIT: into $units, every Exec*= binary replaced by a stand-in under
# $bin, since verify insists that the binaries exist and netd is not
# installed here.
copy() {
  local name=$1 b
  sed -E "s#^(Exec[A-Za-z]*=[-@:+!]*)/([^ ]*/)?([^/ ]+)#\1$bin/\3#" "$src/$name" >"$units/$name"
  for b in $(grep -oE "^Exec[A-Za-z]*=[-@:+!]*$bin/[^ ]+" "$units/$name" | sed 's#.*/##'); do
    printf '#!/bin/sh\nexit 0\n' >"$bin/$b"
    chmod 755 "$bin/$b"
  done
}

# verify UNIT...: sets VERIFY (what systemd-analyze said) and returns
# non-zero when it failed or said anything about our units.
VERIFY=''
verify() {
  local rc=0 line ours=0
  VERIFY=$(cd "$units" && systemd-analyze verify --man=no --recursive-errors=no "$@" 2>&1) || rc=$?
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    if [[ $line == *"$units"* || $line == *netd.service* || $line == *app@* ]]; then
      ours=1
    else
      note "(about another unit) $line"
    fi
  done <<<"$VERIFY"
  [[ $rc == 0 && $ours == 0 ]]
}

# value UNIT KEY: the values of KEY= in UNIT, one per line, as written.
value() { sed -n "s/^$2=//p" "$src/$1"; }

step "systemd-analyze verify on the units as shipped"
systemd-analyze --version | head -n 1 >&2
copy netd.service
copy app@.service
for u in netd.service app@web.service app@db.service; do
  verify "./$u" || fail "systemd-analyze verify $u:
$VERIFY"
  note "$u: ok"
done

step "verify catches a broken unit"
mkdir -p "$T/good"
cp "$units"/* "$T/good/"
broken() { # UNIT FILE SED WHAT: FILE edited with SED makes verify of UNIT fail.
  local unit=$1 file=$2
  sed -i -E "$3" "$units/$file"
  ! cmp -s "$units/$file" "$T/good/$file" || fail "$4: the edit changed nothing"
  if verify "./$unit"; then
    fail "verify accepted $4 in $file"
  fi
  note "$4: $(head -n 1 <<<"$VERIFY")"
  cp "$T/good/$file" "$units/$file"
}
broken netd.service netd.service 's/^Type=notify$/Type=notfy/' "a misspelled service type"
broken netd.service netd.service 's/^KillMode=/KilMode=/' "an unknown key"
broken netd.service netd.service "s#^ExecStart=$bin/netd #ExecStart=$bin/netd-missing #" "a missing binary"
broken app@web.service app@.service 's/^NetworkNamespacePath=/NetworkNamespace=/' "an unknown key in the template"
verify ./netd.service ./app@web.service || fail "the restored units no longer verify: $VERIFY"

step "netd.service: a notify daemon after the host firewall"
assert_eq "$(value netd.service Type)" notify "Type"
assert_eq "$(value netd.service ExecStart)" "/usr/bin/netd run -c /etc/netd/netd.toml" "ExecStart"
assert_eq "$(value netd.service ExecReload | tail -n 1)" "/usr/bin/netd reload" "the last ExecReload"
value netd.service After | tr ' ' '\n' | grep -qx nftables.service ||
  fail "netd.service is not ordered after nftables.service, whose flush ruleset would remove table inet netd"
value netd.service Before | tr ' ' '\n' | grep -qx network.target || fail "netd.service is not before network.target"
assert_eq "$(value netd.service WatchdogSec)" 30 "WatchdogSec"
assert_eq "$(value netd.service Restart)" on-failure "Restart"
assert_eq "$(value netd.service KillMode)" process "KillMode"
assert_eq "$(value netd.service RuntimeDirectory)" netd "RuntimeDirectory"
assert_eq "$(value netd.service RuntimeDirectoryPreserve)" yes "RuntimeDirectoryPreserve"

step "netd.service: no mount namespace that would hide the pins"
for key in ProtectSystem ProtectHome PrivateTmp PrivateMounts PrivateDevices ProtectKernelTunables \
  ProtectKernelModules ProtectControlGroups ProtectProc ReadOnlyPaths ReadWritePaths InaccessiblePaths \
  TemporaryFileSystem BindPaths BindReadOnlyPaths RootDirectory RootImage MountFlags PrivateNetwork; do
  [[ -z $(value netd.service "$key") ]] || fail "netd.service sets $key=, which gives netd a mount namespace of its own"
done

step "app@.service: joins the namespace, outlives netd restarts"
assert_eq "$(value app@.service NetworkNamespacePath)" "/run/netns/%i" "NetworkNamespacePath"
[[ -n $(value app@.service WorkingDirectory) ]] || fail "app@.service has no WorkingDirectory="
value app@.service After | tr ' ' '\n' | grep -qx netd.service || fail "app@.service is not after netd.service"
for key in Requires BindsTo PartOf Requisite; do
  if value app@.service "$key" | tr ' ' '\n' | grep -qx netd.service; then
    fail "app@.service has $key=netd.service: a restart of netd would stop or restart the application"
  fi
done
