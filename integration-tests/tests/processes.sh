#!/usr/bin/env bash
# Processes supervised by `netd run` ([[namespace.NAME.process]]):
# - each runs inside its namespace (its /proc/PID/ns/net is the pin's inode)
#   and sees /etc/netns/NAME/resolv.conf, as `netd exec NAME` does;
# - its output lines are in netd's log with the process name;
# - after `kill -9` it is started again, with `restarts` counted in
#   `netd status --json`; restart = "never" stays down, shown as failed;
# - a BIRD sidecar keeps exactly CAP_NET_ADMIN, CAP_NET_RAW and
#   CAP_NET_BIND_SERVICE in CapEff, CapPrm and CapBnd of /proc/PID/status;
# - `netd reload` starts a process added to the config and leaves the
#   others running;
# - SIGTERM to netd stops every process within its stop_timeout (SIGKILL for
#   one that ignores SIGTERM), and netd exits 0 with the namespace and its
#   links still in place.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip jq bird

private_etc
mkdir -p /etc/netns/sup
echo "nameserver 192.0.2.53 # sup" >/etc/netns/sup/resolv.conf

bird_conf=$T/bird.conf
cat >"$bird_conf" <<'BIRD'
router id 10.88.92.2;
protocol device {}
protocol direct { ipv4; interface "eth0"; }
BIRD

cfg=$T/netd.toml
write_config() { # EXTRA: TOML appended to the base config
  cat >"$cfg" <<TOML
[bridge.br-sup]
addresses = ["10.88.92.1/24"]

[namespace.sup]
[[namespace.sup.interface]]
name = "eth0"
bridge = "br-sup"
addresses = ["10.88.92.2/24"]

[[namespace.sup.process]]
name = "app"
command = "sh"
args = ["-c", "echo app-says-hello; cat /etc/resolv.conf; exec sleep 100000"]
restart_delay = 0.2
stop_timeout = 3

[[namespace.sup.process]]
name = "once"
command = "/bin/sh"
args = ["-c", "echo once-ran; exit 3"]
restart = "never"

[[namespace.sup.process]]
name = "bird"
command = "bird"
args = ["-f", "-c", "$bird_conf", "-s", "$T/bird.ctl"]
capabilities = ["CAP_NET_ADMIN", "net_raw", "NET_BIND_SERVICE"]

[[namespace.sup.process]]
name = "stubborn"
command = "sh"
args = ["-c", "trap '' TERM; echo stubborn-up; while :; do sleep 0.2; done"]
stop_timeout = 2
$1
TOML
}
write_config ""
netd_ok check -c "$cfg"

log=$T/run.log
step "netd run"
# -v: info level, where process output is logged (stderr output at warn).
"$NETD" -v run -c "$cfg" >"$log" 2>&1 &
netd_pid=$!
on_exit "kill -KILL $netd_pid"

STATUS=''
status() { STATUS=$("$NETD" status --json 2>/dev/null || true); }
# proc NAME FIELD: a field of process NAME in the last status.
proc() { jq -r --arg n "$1" ".daemon.processes[] | select(.namespace == \"sup\" and .name == \$n) | .$2" <<<"$STATUS"; }
# wait_status WHAT SECONDS CMD...: poll CMD (after a fresh status) until it succeeds.
wait_status() {
  local what=$1 tries=$(($2 * 10))
  shift 2
  while ((tries-- > 0)); do
    status
    "$@" && return 0
    kill -0 "$netd_pid" 2>/dev/null || fail "netd run exited while waiting for $what; log:
$(tail -n 40 "$log")"
    sleep 0.1
  done
  fail "$what did not happen; status: $(jq -c '.daemon' <<<"$STATUS" 2>/dev/null || echo "$STATUS")
log:
$(tail -n 40 "$log")"
}
ready() { jq -e '.daemon.ready' >/dev/null 2>&1 <<<"$STATUS"; }
running() { [[ $(proc "$1" state) == running ]]; }
wait_status "readiness" 30 ready
wait_status "app, bird and stubborn running" 10 eval 'running app && running bird && running stubborn'

step "app runs inside the namespace and sees its resolv.conf"
app_pid=$(proc app pid)
pin_inode=$(stat -L -c %i "$NETNS_DIR/sup")
assert_eq "$(readlink "/proc/$app_pid/ns/net")" "net:[$pin_inode]" "network namespace of app (pid $app_pid)"
wait_status "app's output in the log" 5 grep -q 'nameserver 192.0.2.53 # sup' "$log"
# One log line per output line, with the namespace and the process name.
for text in 'app-says-hello' 'nameserver 192.0.2.53 # sup'; do
  line=$(grep -F "$text" "$log" | head -n 1)
  assert_contains "$line" 'namespace="sup"' "log line of app's output"
  assert_contains "$line" 'process="app"' "log line of app's output"
done
netd_ok exec sup -- cat /etc/resolv.conf
assert_eq "$OUT" "nameserver 192.0.2.53 # sup" "netd exec sup -- cat /etc/resolv.conf"
assert_eq "$(cat /etc/resolv.conf)" "nameserver 192.0.2.1 # host" "the host's resolv.conf"

step "kill -9 app: started again, restarts counted"
kill -KILL "$app_pid"
new_app() { running app && [[ $(proc app pid) != "$app_pid" ]]; }
wait_status "a new app" 10 new_app
assert_eq "$(proc app restarts)" 1 "restarts of app"
assert_eq "$(proc app last_exit)" "killed by signal 9" "last_exit of app"
assert_eq "$(readlink "/proc/$(proc app pid)/ns/net")" "net:[$pin_inode]" "network namespace of the new app"
app_pid=$(proc app pid)

step "restart = never: once ran, failed and stays down"
grep -q 'once-ran' "$log" || fail "once's output is not in the log"
sleep 1.5
status
assert_eq "$(proc once state)/$(proc once pid)/$(proc once restarts)" "failed/null/0" "once after its exit"
assert_eq "$(proc once last_exit)" "exit code 3" "last_exit of once"

step "BIRD keeps exactly CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE"
bird_pid=$(proc bird pid)
want=$(((1 << 10) | (1 << 12) | (1 << 13)))
for set in CapEff CapPrm CapBnd; do
  hex=$(awk -v k="$set:" '$1 == k { print $2 }' "/proc/$bird_pid/status")
  [[ -n $hex ]] || fail "no $set in /proc/$bird_pid/status"
  (((16#$hex) == want)) || fail "$set of bird is $hex, want $(printf '%016x' "$want") (NET_BIND_SERVICE, NET_ADMIN, NET_RAW)"
  note "$set $hex"
done
assert_eq "$(readlink "/proc/$bird_pid/ns/net")" "net:[$pin_inode]" "network namespace of bird"

step "netd reload starts an added process and leaves the others"
write_config '
[[namespace.sup.process]]
name = "late"
command = "sh"
args = ["-c", "exec sleep 100000"]'
netd_ok reload
wait_status "late running" 10 running late
assert_eq "$(proc app pid)" "$app_pid" "app's pid across the reload"
assert_eq "$(proc bird pid)" "$bird_pid" "bird's pid across the reload"

step "kill -9 netd: the next netd adopts the running processes, no second copy"
kill -KILL "$netd_pid"
wait "$netd_pid" 2>/dev/null || true
kill -0 "$bird_pid" || fail "bird died with netd"
"$NETD" -v run -c "$cfg" >>"$log" 2>&1 &
netd_pid=$!
on_exit "kill -KILL $netd_pid"
wait_status "readiness after the restart" 30 ready
wait_status "processes running after the restart" 10 eval 'running app && running bird && running late'
assert_eq "$(proc bird pid)" "$bird_pid" "bird's pid across netd's kill -9"
assert_eq "$(proc app pid)" "$app_pid" "app's pid across netd's kill -9"
assert_eq "$(pgrep -xc bird)" 1 "bird processes after netd's restart"
grep -q 'adopted from the previous netd' "$log" || fail "no adoption in the log"
step "an adopted process that ends is noticed and started again"
kill -KILL "$app_pid"
wait_status "a new app after the adopted one ended" 10 new_app
assert_eq "$(proc app last_exit)" "ended (status unknown: started by an earlier netd)" "last_exit of the adopted app"
app_pid=$(proc app pid)

step "SIGTERM to netd: processes stopped within stop_timeout, netd exits 0"
pids=$(jq -r '.daemon.processes[] | select(.pid != null) | .pid' <<<"$STATUS")
start=$(date +%s%N)
kill -TERM "$netd_pid"
rc=0
timeout 20 tail --pid="$netd_pid" -f /dev/null || fail "netd did not exit within 20 s of SIGTERM"
wait "$netd_pid" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
note "netd exited $rc after ${ms} ms; its last lines:"
tail -n 12 "$log" | sed 's/^/   | /' >&2
assert_eq "$rc" 0 "exit code of netd run after SIGTERM"
# stubborn ignores SIGTERM: SIGKILL after its stop_timeout of 2 s.
((ms >= 1800 && ms < 3000 + 2000)) || fail "netd took ${ms} ms to stop; want about stubborn's stop_timeout (2 s), below app's 3 s + 2 s"
for p in $pids; do
  [[ ! -e /proc/$p ]] || fail "process $p is still there after netd exited: $(tr '\0' ' ' <"/proc/$p/cmdline")"
done
grep 'SIGKILL' "$log" | grep -q stubborn || fail "no SIGKILL of stubborn in the log"
[[ $(stat -f -c %T "$NETNS_DIR/sup") == nsfs ]] || fail "the namespace is no longer pinned after netd exited"
link_exists sup eth0 || fail "eth0 of sup is gone after netd exited"
assert_addr sup eth0 10.88.92.2/24
