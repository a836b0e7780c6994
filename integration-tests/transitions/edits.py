"""The random edits of the transitions test. Each takes (cfg, rng), changes
the config in place and returns a description, or None if it does not apply
to this config (then another edit is drawn). `edit` draws one and makes the
result valid again (configgen.normalize)."""

import ipaddress
import random

from configgen import (BRIDGES, IFNAMES, MAX_NS, MIN_NS, MTUS, NAMESPACES, SYSCTLS,
                       devices_reaching, free_address, gateway_candidates, host_addr,
                       new_namespace, normalize, pick_iface, pick_ns)


def add_namespace(cfg, rng):
    free = [n for n in NAMESPACES if n not in cfg["namespaces"]]
    if len(cfg["namespaces"]) >= MAX_NS or not free:
        return None
    name = rng.choice(free)
    ns = cfg["namespaces"][name] = new_namespace()
    if cfg["bridges"] and rng.random() < 0.8:
        add_interface_to(cfg, rng, name, ns)
        if ns["interfaces"] and ns["interfaces"][0]["addresses"]:
            gw = gateway_candidates(ns, False)
            if gw:
                ns["gateway"] = [gw[0]]
    return f"add namespace {name}"


def remove_namespace(cfg, rng):
    if len(cfg["namespaces"]) <= MIN_NS:
        return None
    name = rng.choice(sorted(cfg["namespaces"]))
    del cfg["namespaces"][name]
    return f"remove namespace {name}"


def add_interface_to(cfg, rng, name, ns):
    free = [n for n in IFNAMES if n not in {i["name"] for i in ns["interfaces"]}]
    # One port per bridge and namespace, as a namespace has one interface
    # per subnet: with two, the kernel picks one of them for a route that
    # names no device, and deleting that one moves the route.
    bridges = sorted(set(cfg["bridges"]) - {i["bridge"] for i in ns["interfaces"]})
    if not free or not bridges:
        return None
    bridge = rng.choice(bridges)
    iface = {"name": free[0], "bridge": bridge, "host_name": None, "addresses": [],
             "mtu": None, "mac": None, "ipv6_link_local": None}
    if rng.random() < 0.3:
        iface["host_name"] = f"h{name}{free[0]}"
    for v6 in (False, True):
        if rng.random() < 0.7:
            a = free_address(cfg, rng, bridge, v6)
            if a:
                iface["addresses"].append(a)
    ns["interfaces"].append(iface)
    return f"add interface {name}/{iface['name']} on {bridge} {iface['addresses']}"


def add_interface(cfg, rng):
    name = pick_ns(cfg, rng, lambda ns: len(ns["interfaces"]) < len(IFNAMES))
    return name and add_interface_to(cfg, rng, name, cfg["namespaces"][name])


def remove_interface(cfg, rng):
    name, iface = pick_iface(cfg, rng)
    if not iface:
        return None
    cfg["namespaces"][name]["interfaces"].remove(iface)
    return f"remove interface {name}/{iface['name']}"


def move_interface(cfg, rng):
    name, iface = pick_iface(cfg, rng)
    if not iface:
        return None
    used = {i["bridge"] for i in cfg["namespaces"][name]["interfaces"]}
    others = [b for b in cfg["bridges"] if b not in used]
    if not others:
        return None
    iface["bridge"] = rng.choice(sorted(others))
    addrs = []
    for a in iface["addresses"]:
        n = free_address(cfg, rng, iface["bridge"], ":" in a)
        if n:
            addrs.append(n)
    iface["addresses"] = addrs
    return f"move {name}/{iface['name']} to {iface['bridge']}, addresses {addrs}"


def add_address(cfg, rng):
    name, iface = pick_iface(cfg, rng, lambda i: len(i["addresses"]) < 3)
    if not iface:
        return None
    a = free_address(cfg, rng, iface["bridge"], rng.random() < 0.5)
    if not a:
        return None
    iface["addresses"].append(a)
    return f"add address {a} to {name}/{iface['name']}"


def remove_address(cfg, rng):
    name, iface = pick_iface(cfg, rng, lambda i: i["addresses"])
    if not iface:
        return None
    a = rng.choice(iface["addresses"])
    iface["addresses"].remove(a)
    return f"remove address {a} from {name}/{iface['name']}"


def change_address(cfg, rng):
    name, iface = pick_iface(cfg, rng, lambda i: i["addresses"])
    if not iface:
        return None
    old = rng.choice(iface["addresses"])
    new = free_address(cfg, rng, iface["bridge"], ":" in old)
    if not new:
        return None
    iface["addresses"][iface["addresses"].index(old)] = new
    return f"change address of {name}/{iface['name']}: {old} -> {new}"


def toggle_loopback(cfg, rng):
    name = pick_ns(cfg, rng)
    ns = cfg["namespaces"][name]
    if ns["loopback"] and rng.random() < 0.5:
        a = ns["loopback"].pop(rng.randrange(len(ns["loopback"])))
        return f"remove loopback {a} from {name}"
    k = NAMESPACES.index(name) * 10 + rng.randint(1, 9)
    a = f"2001:db8::{k:x}/128" if rng.random() < 0.5 else f"192.0.2.{k}/32"
    if a in ns["loopback"]:
        return None
    ns["loopback"].append(a)
    return f"add loopback {a} to {name}"


def set_gateway(cfg, rng):
    name = pick_ns(cfg, rng)
    ns = cfg["namespaces"][name]
    v6 = rng.random() < 0.5
    cands = gateway_candidates(ns, v6)
    keep = [g for g in ns["gateway"] if (":" in g) != v6]
    if rng.random() < 0.3 or not cands:
        if len(keep) == len(ns["gateway"]):
            return None
        ns["gateway"] = keep
        return f"remove the IPv{6 if v6 else 4} gateway of {name}"
    gw = rng.choice(cands)
    ns["gateway"] = keep + [gw]
    return f"gateway of {name}: {gw}"


def add_route(cfg, rng):
    name = pick_ns(cfg, rng)
    ns = cfg["namespaces"][name]
    v6 = rng.random() < 0.5
    cands = gateway_candidates(ns, v6)
    if not cands:
        return None
    k = rng.randint(0, 5)
    route = {
        "destination": str(ipaddress.ip_network(f"fd70:{k}::/64" if v6 else f"172.16.{k}.0/24")),
        "gateway": rng.choice(cands),
        "device": None,
        "table": rng.choice([None, None, 100]),
        "metric": rng.choice([None, None, 10, 50]),
    }
    if rng.random() < 0.4:
        route["device"] = rng.choice(devices_reaching(ns, route["gateway"]))
    key = (route["destination"], route["table"], route["metric"])
    if any((r["destination"], r["table"], r["metric"]) == key for r in ns["routes"]):
        return None
    ns["routes"].append(route)
    return f"add route in {name}: {route}"


def remove_route(cfg, rng):
    name = pick_ns(cfg, rng, lambda ns: ns["routes"])
    if not name:
        return None
    routes = cfg["namespaces"][name]["routes"]
    r = routes.pop(rng.randrange(len(routes)))
    return f"remove route in {name}: {r}"


def change_route(cfg, rng):
    name = pick_ns(cfg, rng, lambda ns: ns["routes"])
    if not name:
        return None
    ns = cfg["namespaces"][name]
    r = rng.choice(ns["routes"])
    old = dict(r)
    if rng.random() < 0.5:
        r["gateway"] = rng.choice(gateway_candidates(ns, ":" in r["gateway"]))
        r["device"] = None
    else:
        r["metric"] = rng.choice([m for m in [None, 10, 50, 100] if m != r["metric"]])
        key = (r["destination"], r["table"], r["metric"])
        if sum((x["destination"], x["table"], x["metric"]) == key for x in ns["routes"]) > 1:
            r.update(old)
            return None
    return f"change route in {name}: {old} -> {r}"


def set_mtu(cfg, rng):
    if rng.random() < 0.3 and cfg["bridges"]:
        b = rng.choice(sorted(cfg["bridges"]))
        mtu = rng.choice([None, 1400, 1500, 9000])
        cfg["bridges"][b]["mtu"] = mtu
        return f"mtu of bridge {b}: {mtu}"
    name, iface = pick_iface(cfg, rng)
    if not iface:
        return None
    iface["mtu"] = rng.choice([None] + MTUS)
    return f"mtu of {name}/{iface['name']}: {iface['mtu']}"


def set_sysctl(cfg, rng):
    name = pick_ns(cfg, rng)
    ns = cfg["namespaces"][name]
    key = rng.choice(sorted(SYSCTLS))
    if key in ns["sysctl"] and rng.random() < 0.4:
        del ns["sysctl"][key]
        return f"remove sysctl {key} from {name}"
    ns["sysctl"][key] = rng.choice(SYSCTLS[key])
    return f"sysctl {key} = {ns['sysctl'][key]} in {name}"


def toggle_publish(cfg, rng):
    name = pick_ns(cfg, rng, lambda ns: any(i["addresses"] for i in ns["interfaces"]))
    if not name:
        return None
    ns = cfg["namespaces"][name]
    if ns["publish"] and rng.random() < 0.5:
        p = ns["publish"].pop(rng.randrange(len(ns["publish"])))
        return f"remove publish {p} from {name}"
    used = {p["port"] for n in cfg["namespaces"].values() for p in n["publish"]}
    port = 8000 + rng.randint(0, 30)
    if port in used:
        return None
    p = {"port": port, "to_port": rng.choice([80, 443, port]), "proto": rng.choice(["tcp", "udp", "both"])}
    ns["publish"].append(p)
    return f"publish {p} in {name}"


def toggle_bridge(cfg, rng):
    free = [b for b in BRIDGES if b not in cfg["bridges"]]
    if free and (rng.random() < 0.6 or len(cfg["bridges"]) <= 1):
        b = rng.choice(free)
        cfg["bridges"][b] = {"addresses": [host_addr(b, False, 1)], "mtu": None,
                             "isolate": False, "masquerade": False}
        if rng.random() < 0.5:
            cfg["bridges"][b]["addresses"].append(host_addr(b, True, 1))
        return f"add bridge {b}"
    if len(cfg["bridges"]) <= 1:
        return None
    b = rng.choice(sorted(cfg["bridges"]))
    del cfg["bridges"][b]
    return f"remove bridge {b} and its ports"


def change_bridge(cfg, rng):
    if not cfg["bridges"]:
        return None
    name = rng.choice(sorted(cfg["bridges"]))
    b = cfg["bridges"][name]
    what = rng.choice(["address", "isolate", "masquerade"])
    if what != "address":
        b[what] = not b[what]
        return f"{what} of bridge {name}: {b[what]}"
    v6 = rng.random() < 0.5
    cur = [a for a in b["addresses"] if (":" in a) == v6]
    rest = [a for a in b["addresses"] if (":" in a) != v6]
    choices = [[], [host_addr(name, v6, 1)], [host_addr(name, v6, 254)]]
    new = rng.choice([c for c in choices if c != cur])
    b["addresses"] = rest + new
    return f"IPv{6 if v6 else 4} address of bridge {name}: {cur} -> {new}"


def change_link_identity(cfg, rng):
    name, iface = pick_iface(cfg, rng)
    if not iface:
        return None
    what = rng.choice(["host_name", "mac", "ipv6_link_local"])
    if what == "host_name":
        iface["host_name"] = None if iface["host_name"] else f"h{name}{iface['name']}"
    elif what == "mac":
        n = NAMESPACES.index(name) * 2 + IFNAMES.index(iface["name"])
        iface["mac"] = None if iface["mac"] else f"02:00:00:60:{n:02x}:{rng.randint(1, 250):02x}"
    else:
        iface["ipv6_link_local"] = rng.choice([v for v in [None, True, False] if v != iface["ipv6_link_local"]])
    return f"{what} of {name}/{iface['name']}: {iface[what]}"


EDITS = [
    (add_namespace, 3), (remove_namespace, 2), (add_interface, 3), (remove_interface, 2),
    (move_interface, 2), (add_address, 4), (remove_address, 3), (change_address, 5),
    (toggle_loopback, 2), (set_gateway, 4), (add_route, 4), (remove_route, 2),
    (change_route, 2), (set_mtu, 4), (set_sysctl, 3), (toggle_publish, 3),
    (toggle_bridge, 2), (change_bridge, 3), (change_link_identity, 3),
]


def edit(cfg, rng, kinds=None):
    """One random valid edit of `cfg`, in place; returns its description.
    `kinds` (names of edit functions) limits the draw, to bisect a failure."""
    table = [(f, w) for f, w in EDITS if not kinds or f.__name__ in kinds]
    funcs, weights = zip(*table)
    while True:
        f = rng.choices(funcs, weights)[0]
        desc = f(cfg, rng)
        if desc:
            dropped = normalize(cfg)
            if dropped:
                desc += "; so dropped: " + ", ".join(dropped)
            return desc


def initial(rng):
    cfg = {"bridges": {}, "namespaces": {}}
    toggle_bridge(cfg, rng)
    for _ in range(rng.randint(MIN_NS, 4)):
        add_namespace(cfg, rng)
    normalize(cfg)
    return cfg


def seeded(seed):
    return random.Random(seed)
