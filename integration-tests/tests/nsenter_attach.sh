#!/usr/bin/env bash
# The README's recipe for Docker, which cannot join a namespace by path, run
# with podman (the same OCI runtime underneath, and no daemon to install): a
# container started with `--network none`, given the pin of web and
# CAP_SYS_ADMIN, moves into web with `nsenter --net=` in its entrypoint and
# serves on web's address; `exec` into it lands in web too, since nsenter
# execs the application as the container's main process.
# Replaced, the new container finds web as it was. Without CAP_SYS_ADMIN,
# setns is refused, which is why the recipe adds it.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool ip curl podman busybox

# podman's state stays on the sandbox's /run, as in podman_attach.sh.
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

# The recipe: --network none, the pin, CAP_SYS_ADMIN, nsenter in front.
recipe=(--network none --cap-add SYS_ADMIN -v /run/netns/web:/run/netns/web:ro --rootfs "$P/rootfs"
  /bin/busybox nsenter --net=/run/netns/web)

serve() { # VERSION: replace the app container with one serving VERSION
  echo "$1" >"$P/rootfs/www/index.html"
  pod rm -f -t 0 app >/dev/null 2>&1 || true
  pod run -d --name app "${recipe[@]}" /bin/busybox httpd -f -p 8080 -h /www >/dev/null
  local deadline=$((SECONDS + 10))
  until ip netns exec web ss -Hltn 'sport = :8080' | grep -q .; do
    ((SECONDS < deadline)) || fail "httpd did not listen on :8080 in web"
    sleep 0.1
  done
}

get() { # ADDR: fetch from db, bounded
  ip netns exec db curl -sS --max-time 3 "http://$1:8080/index.html"
}

step "a container with --network none enters web through nsenter"
serve v1
assert_eq "$(get 10.88.0.2)" v1 "response from the app in web"
assert_eq "$(get '[fd88::2]')" v1 "response over IPv6"

step "exec joins the namespaces of the container's main process: web"
addrs=$(pod exec app /bin/busybox ip -o -4 addr show)
assert_contains "$addrs" "inet 10.88.0.2/24" "addresses seen by exec"

step "replace the app: web stays the same namespace, netd has nothing to do"
serve v2
assert_eq "$(get 10.88.0.2)" v2 "response from the new app"
assert_eq "$(netns_id web)" "$web_id" "web is the same namespace"
check_two_namespaces
assert_converged "$TWO_NS"

step "without CAP_SYS_ADMIN setns is refused"
rc=0
out=$(pod run --rm --network none -v /run/netns/web:/run/netns/web:ro --rootfs "$P/rootfs" \
  /bin/busybox nsenter --net=/run/netns/web /bin/busybox true 2>&1) || rc=$?
[[ $rc != 0 ]] || fail "nsenter without CAP_SYS_ADMIN succeeded"
assert_contains "$out" "not permitted" "nsenter without CAP_SYS_ADMIN"
