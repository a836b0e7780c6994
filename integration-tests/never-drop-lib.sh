# shellcheck shell=bash
# Helpers of tests/never_drop.sh (sourced after lib.sh): the daemon, BIRD,
# podman, the bounded clients and the checks of what they recorded.

# process_pid NS NAME: the pid of a supervised process, as netd status has it.
process_pid() {
  "$NETD" status --json | jq -r --arg ns "$1" --arg n "$2" \
    '.daemon.processes[] | select(.namespace == $ns and .name == $n) | .pid // empty'
}

# new_pid NS NAME OLD: the process runs again, under another pid.
new_pid() {
  local p
  p=$(process_pid "$1" "$2")
  [[ -n $p && $p != "$3" ]]
}

# listening NS PORT: something listens on tcp PORT in NS.
listening() { nsenter --net="$NETNS_DIR/$1" ss -Hltn "sport = :$2" | grep -q .; }

# ---------------------------------------------------------------- BIRD

# bird_conf FILE ROUTER_ID AS NEIGHBOR NEIGHBOR_AS NAME: a BGP speaker with
# short timers, that touches no kernel table (so its restarts delete nothing).
bird_conf() {
  cat >"$1" <<EOF
router id $2;
timeformat protocol iso long ms;
protocol device {}
protocol bgp $6 {
  local $2 as $3;
  neighbor $4 as $5;
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 5;
  hold time 30;
  ipv4 { import all; export none; };
}
EOF
}

# bgp_line: the peer's line about its session with app.
bgp_line() { birdc -s "$T/peer-bird.ctl" show protocols app | awk '$1 == "app"'; }
bgp_established() { bgp_line | grep -q Established; }
# bgp_since: when the session last changed state ("since" of birdc).
bgp_since() {
  local l
  l=$(bgp_line)
  [[ $l == *Established* ]] || fail "the BGP session is not Established: $l"
  awk '{print $5, $6}' <<<"$l"
}

# ---------------------------------------------------------------- podman

# podman with all its state in the sandbox's /run, and a static busybox as
# the container's root, so no image is pulled.
P=$T/podman
mkdir -p "$P/net" "$P/rootfs/bin" "$P/rootfs/www"
cp "$(command -v busybox)" "$P/rootfs/bin/busybox"
echo podman >"$P/rootfs/www/index.html"
pod() {
  podman --root "$P/storage" --runroot "$P/runroot" --tmpdir "$P/tmp" \
    --cgroup-manager cgroupfs --events-backend file --network-config-dir "$P/net" "$@"
}

# podman_start: (re)create the container `app2` serving on 8081 in app.
podman_start() {
  pod rm -f -t 0 app2 >/dev/null 2>&1 || true
  pod run -d --name app2 --network "ns:$NETNS_DIR/app" --rootfs "$P/rootfs" \
    /bin/busybox httpd -f -p 8081 -h /www >/dev/null
}

# ---------------------------------------------------------------- clients

# client NAME URL [NS]: at most 10 requests a second, at most CLIENT_SECONDS
# long, until stop_clients; logs "START_MS|END_MS|HTTP_CODE|NAME" a request.
CLIENT_SECONDS=${CLIENT_SECONDS:-180}
client() {
  local name=$1 url=$2 ns=${3:-} s code cmd=() end
  [[ -z $ns ]] || cmd=(nsenter --net="$NETNS_DIR/$ns")
  end=$(($(now_ms) + CLIENT_SECONDS * 1000))
  while [[ ! -e $T/stop-clients ]] && (($(now_ms) < end)); do
    s=$(now_ms)
    code=$("${cmd[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url") || true
    echo "$s|$(now_ms)|${code:-000}|$name" >>"$T/requests.log"
    sleep 0.1
  done
}

curl_ok() { nsenter --net="$NETNS_DIR/$1" curl -sf -o /dev/null --max-time 1 "$2"; }

# start_client ARGS...: client ARGS in the background.
CLIENT_PIDS=()
start_client() {
  client "$@" &
  CLIENT_PIDS+=($!)
}

# stop_clients: each client ends its request in progress (at most 1 s).
stop_clients() {
  touch "$T/stop-clients"
  wait "${CLIENT_PIDS[@]}"
}

# window_start / window_end NAMES WHY: failures of the clients NAMES that
# overlap [start, end] are the app's own restart (or the flush), excused.
window_start() { WINDOW_START=$(now_ms); }
window_end() { echo "$WINDOW_START|$(now_ms)|$1|$2" >>"$T/windows"; }

# check_requests: every failed request overlaps a window of its client.
check_requests() {
  local total failed bad
  total=$(grep -c . "$T/requests.log" || true)
  failed=$(awk -F'|' '$3 != 200' "$T/requests.log" | grep -c . || true)
  bad=$(awk -F'|' 'NR == FNR { ws[NR] = $1; we[NR] = $2; wn[NR] = " " $3 " "; n = NR; next }
    $3 != 200 {
      ok = 0
      for (i = 1; i <= n; i++) if (index(wn[i], " " $4 " ") && $1 <= we[i] && $2 >= ws[i]) ok = 1
      if (!ok) print
    }' "$T/windows" "$T/requests.log")
  note "requests: $total, failed: $failed, outside the restart windows: $(grep -c . <<<"$bad" || true)"
  awk -F'|' '{printf "   window %s: %d ms for %s\n", $4, $2 - $1, $3}' "$T/windows" >&2
  for c in published direct podman; do
    grep -q "|$c\$" "$T/requests.log" || fail "the $c client sent no request"
  done
  [[ -z $bad ]] || fail "requests failed outside the restart windows (start_ms|end_ms|code|client):
$(head -n 20 <<<"$bad")"
}

# check_no_deletions: ip monitor saw no link, address or route deleted.
check_no_deletions() {
  local f d=''
  for f in "$T"/mon.*; do
    d+=$(grep -h 'Deleted' "$f" | sed "s|^|${f##*/}: |" || true)
  done
  note "deletion events seen by ip monitor: $(grep -c . <<<"$d" || true)"
  [[ -z $d ]] || fail "links, addresses or routes were deleted:
$(head -n 20 <<<"$d")"
}
