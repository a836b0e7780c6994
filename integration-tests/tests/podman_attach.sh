#!/usr/bin/env bash
# examples/podman.md: a podman container joins a netd namespace with
# `--network ns:/run/netns/web`, serves on the namespace's address, and can be
# removed and replaced without netd's objects changing (a re-apply has nothing
# to do). The container's root is a static busybox, so no image is pulled.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip ss jq curl podman busybox

# Keep all of podman's state on the sandbox's /run: nothing under the host's
# /var/lib/containers or /etc/containers/networks.
P=$T/podman
mkdir -p "$P/net" "$P/rootfs/bin" "$P/rootfs/www"
cp "$(command -v busybox)" "$P/rootfs/bin/busybox"
pod() {
  podman --root "$P/storage" --runroot "$P/runroot" --tmpdir "$P/tmp" \
    --cgroup-manager cgroupfs --events-backend file --network-config-dir "$P/net" "$@"
}
on_exit 'pod rm -f -a -t 0'

netd_ok apply -c "$TWO_NS"
wait_dad - web db
web_id=$(netns_id web)

step "a one-shot container sees web's addresses"
out=$(pod run --rm --network ns:/run/netns/web --rootfs "$P/rootfs" /bin/busybox ip addr show dev eth0)
note "$(grep inet <<<"$out" | head -n 2)"
assert_contains "$out" "inet 10.88.0.2/24" "ip addr in the container"
assert_contains "$out" "inet6 fd88::2/64" "ip addr in the container"

serve() { # VERSION: replace the app container with one serving VERSION
  echo "$1" >"$P/rootfs/www/index.html"
  pod rm -f -t 0 app >/dev/null 2>&1 || true
  pod run -d --name app --network ns:/run/netns/web --rootfs "$P/rootfs" \
    /bin/busybox httpd -f -p 8080 -h /www >/dev/null
  local deadline=$((SECONDS + 10))
  until ip netns exec web ss -Hltn 'sport = :8080' | grep -q .; do
    ((SECONDS < deadline)) || fail "httpd in the container did not listen on :8080"
    sleep 0.1
  done
}

get() { # ADDR: fetch from db, bounded
  ip netns exec db curl -sS --max-time 3 "http://$1:8080/index.html"
}

step "an app container in web, reached from db"
serve v1
assert_eq "$(get 10.88.0.2)" v1 "response from the app in web"
assert_eq "$(get '[fd88::2]')" v1 "response over IPv6"

step "replace the app: the namespace and netd's objects stay"
serve v2
assert_eq "$(get 10.88.0.2)" v2 "response from the new app"
assert_eq "$(netns_id web)" "$web_id" "web is the same namespace"
check_two_namespaces
assert_converged "$TWO_NS"

step "remove the app: the namespace stays"
pod rm -f -t 0 app >/dev/null
check_two_namespaces
ns_ping db 10.88.0.2
