"""The kernel's side, read from outside with `ip -j`, `nft -j` and /proc:
a snapshot of netd's namespaces and the sandbox's host namespace, and its
comparison with a configgen config.

Scope "-" is the host namespace (the sandbox's own); any other scope is a
namespace pinned at /run/netns/NAME.
"""

import ipaddress
import json
import os
import subprocess

NETNS_DIR = "/run/netns"
HOST = "-"
MAIN = 254


def ip_json(scope, *args):
    cmd = ["ip"] + ([] if scope == HOST else ["-n", scope]) + ["-j"] + list(args)
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip()}")
    return json.loads(out.stdout or "[]")


def read_scope(scope, sysctls=()):
    links = {l["ifname"]: l for l in ip_json(scope, "-d", "link", "show")}
    addrs = {}
    for l in ip_json(scope, "addr", "show"):
        addrs[l["ifname"]] = l.get("addr_info", [])
    routes = []
    for fam in ("-4", "-6"):
        for r in ip_json(scope, "-N", fam, "route", "show", "table", "all"):
            r["family"] = fam
            routes.append(r)
    values = {}
    if sysctls:
        files = ["/proc/sys/" + k.replace(".", "/") for k in sysctls]
        out = subprocess.run(["nsenter", f"--net={NETNS_DIR}/{scope}", "cat"] + files,
                             capture_output=True, text=True, check=True)
        values = dict(zip(sysctls, out.stdout.split("\n")))
    return {"links": links, "addrs": addrs, "routes": routes, "sysctl": values}


def snapshot(cfg):
    """Everything the checks look at, for the namespaces of `cfg`."""
    snap = {HOST: read_scope(HOST)}
    for name, ns in cfg["namespaces"].items():
        if os.path.exists(f"{NETNS_DIR}/{name}"):
            snap[name] = read_scope(name, sorted(ns["sysctl"]))
    snap["pins"] = sorted(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else []
    nft = subprocess.run(["nft", "-j", "list", "table", "inet", "netd"], capture_output=True, text=True)
    snap["nft"] = json.loads(nft.stdout) if nft.returncode == 0 else None
    return snap


def host_end_name(snap, ns, ifname):
    """The host end of NS/IFNAME: the host link carrying its ownership mark."""
    want = f"netd:veth:{ns}/{ifname}"
    names = [n for n, l in snap[HOST]["links"].items() if l.get("ifalias") == want]
    return names[0] if len(names) == 1 else None


def global_addrs(snap, scope, dev):
    return {f"{a['local']}/{a['prefixlen']}" for a in snap[scope]["addrs"].get(dev, [])
            if a.get("scope") == "global"}


def norm_table(t):
    if t in (None, "main"):
        return MAIN
    return int(t)


def route_matches(want, r):
    """Like netd's own rule: no metric means the kernel's default for the
    family, no device means whichever device the kernel chose."""
    v6 = ":" in want["gateway"]
    dst = want["destination"]
    if dst in ("default", "0.0.0.0/0", "::/0"):
        dst = "default"
    elif ipaddress.ip_network(dst).prefixlen == (128 if v6 else 32):
        dst = str(ipaddress.ip_network(dst).network_address)
    else:
        dst = str(ipaddress.ip_network(dst))
    metric = want["metric"] if want["metric"] is not None else (1024 if v6 else 0)
    return (r.get("dst") == dst and r.get("gateway") == want["gateway"]
            and norm_table(r.get("table")) == norm_table(want["table"])
            and r.get("metric", 0) == metric
            and (want["device"] is None or r.get("dev") == want["device"]))


def wanted_routes(ns):
    gws = [{"destination": "default", "gateway": g, "device": None, "table": None, "metric": None}
           for g in ns["gateway"]]
    return gws + ns["routes"]


def netd_routes(snap, scope):
    return [r for r in snap[scope]["routes"] if str(r.get("protocol")) == "200"]


def link_local_wanted(iface):
    if iface["ipv6_link_local"] is not None:
        return iface["ipv6_link_local"]
    return any(":" in a for a in iface["addresses"])


def published_ports(nft):
    """Every integer that appears in an element of one of the table's maps."""
    found = set()

    def walk(v):
        if isinstance(v, int):
            found.add(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    for item in nft.get("nftables", []):
        if "map" in item:
            walk(item["map"].get("elem", []))
    return found


def compare(cfg, snap):
    """Mismatches between `cfg` and the kernel, one sentence each."""
    bad = []
    host = snap[HOST]
    want_pins = sorted(cfg["namespaces"])
    if snap["pins"] != want_pins:
        bad.append(f"pins in {NETNS_DIR}: {snap['pins']}, want {want_pins}")
    owned = set()
    for name, b in cfg["bridges"].items():
        owned.add(name)
        l = host["links"].get(name)
        if not l:
            bad.append(f"bridge {name} missing")
            continue
        if l.get("linkinfo", {}).get("info_kind") != "bridge":
            bad.append(f"{name} is not a bridge")
        if "UP" not in l["flags"]:
            bad.append(f"bridge {name} is down")
        if b["mtu"] is not None and l["mtu"] != b["mtu"]:
            bad.append(f"bridge {name}: mtu {l['mtu']}, want {b['mtu']}")
        got = global_addrs(snap, HOST, name)
        if got != set(b["addresses"]):
            bad.append(f"bridge {name}: addresses {sorted(got)}, want {sorted(b['addresses'])}")
    for name, ns in cfg["namespaces"].items():
        if name not in snap:
            bad.append(f"namespace {name}: no pin")
            continue
        inner = snap[name]
        for i in ns["interfaces"]:
            where = f"{name}/{i['name']}"
            hname = host_end_name(snap, name, i["name"])
            if hname is None:
                bad.append(f"{where}: no host end (no single host link marked netd:veth:{where})")
            else:
                owned.add(hname)
                h = host["links"][hname]
                slave = h.get("linkinfo", {}).get("info_slave_data", {})
                isolate = cfg["bridges"][i["bridge"]]["isolate"]
                if i["host_name"] is not None and hname != i["host_name"]:
                    bad.append(f"{where}: host end is {hname}, want {i['host_name']}")
                if h.get("master") != i["bridge"]:
                    bad.append(f"{where}: host end {hname} master {h.get('master')}, want {i['bridge']}")
                if i["mtu"] is not None and h["mtu"] != i["mtu"]:
                    bad.append(f"{where}: host end {hname} mtu {h['mtu']}, want {i['mtu']}")
                if "UP" not in h["flags"]:
                    bad.append(f"{where}: host end {hname} is down")
                if slave.get("isolated") != isolate or slave.get("hairpin") is not True:
                    bad.append(f"{where}: host end {hname} isolated={slave.get('isolated')} "
                               f"hairpin={slave.get('hairpin')}, want isolated={isolate} hairpin=True")
                if h.get("inet6_addr_gen_mode") != "none" or host["addrs"].get(hname):
                    bad.append(f"{where}: host end {hname} has IPv6 link-local addressing "
                               f"({h.get('inet6_addr_gen_mode')}, {host['addrs'].get(hname)})")
            l = inner["links"].get(i["name"])
            if not l:
                bad.append(f"{where}: missing")
                continue
            if l.get("linkinfo", {}).get("info_kind") != "veth":
                bad.append(f"{where}: kind {l.get('linkinfo', {}).get('info_kind')}, want veth")
            if "UP" not in l["flags"]:
                bad.append(f"{where}: down")
            if l.get("ifalias") != f"netd:if:{where}":
                bad.append(f"{where}: ifalias {l.get('ifalias')}")
            if i["mtu"] is not None and l["mtu"] != i["mtu"]:
                bad.append(f"{where}: mtu {l['mtu']}, want {i['mtu']}")
            if i["mac"] is not None and l["address"] != i["mac"]:
                bad.append(f"{where}: mac {l['address']}, want {i['mac']}")
            got = global_addrs(snap, name, i["name"])
            if got != set(i["addresses"]):
                bad.append(f"{where}: addresses {sorted(got)}, want {sorted(i['addresses'])}")
            ll = [a["local"] for a in inner["addrs"].get(i["name"], []) if a.get("scope") == "link"]
            mode = l.get("inet6_addr_gen_mode")
            if link_local_wanted(i) and mode == "none":
                bad.append(f"{where}: IPv6 link-local wanted, addrgenmode none")
            if not link_local_wanted(i) and (mode != "none" or ll):
                bad.append(f"{where}: no IPv6 link-local wanted; addrgenmode {mode}, link-local {ll}")
        for lname, l in inner["links"].items():
            alias = l.get("ifalias") or ""
            if alias.startswith("netd:") and lname not in {i["name"] for i in ns["interfaces"]}:
                bad.append(f"{name}/{lname}: netd's link is not in the config")
        lo = inner["links"].get("lo")
        if not lo or "UP" not in lo["flags"]:
            bad.append(f"{name}/lo is down")
        got = global_addrs(snap, name, "lo")
        if got != set(ns["loopback"]):
            bad.append(f"{name}/lo: addresses {sorted(got)}, want {sorted(ns['loopback'])}")
        have = netd_routes(snap, name)
        for w in wanted_routes(ns):
            if not any(route_matches(w, r) for r in have):
                bad.append(f"{name}: route {w} missing")
        for r in have:
            if not any(route_matches(w, r) for w in wanted_routes(ns)):
                bad.append(f"{name}: route {r.get('dst')} via {r.get('gateway')} table "
                           f"{r.get('table', 'main')} metric {r.get('metric')} is not in the config")
        for k, v in ns["sysctl"].items():
            if inner["sysctl"].get(k) != v:
                bad.append(f"{name}: sysctl {k} = {inner['sysctl'].get(k)!r}, want {v!r}")
    for lname, l in host["links"].items():
        if (l.get("ifalias") or "").startswith("netd:") and lname not in owned:
            bad.append(f"host link {lname} ({l.get('ifalias')}) is netd's but not in the config")
    ports = {p["port"] for ns in cfg["namespaces"].values() for p in ns["publish"]}
    want_table = bool(ports) or any(b["masquerade"] for b in cfg["bridges"].values())
    if want_table != (snap["nft"] is not None):
        bad.append(f"table inet netd {'missing' if want_table else 'present, want none'}")
    elif ports:
        missing = ports - published_ports(snap["nft"])
        if missing:
            bad.append(f"published ports {sorted(missing)} not in the maps of table inet netd")
    return bad
