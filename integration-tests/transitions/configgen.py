"""The configs of the transitions test: their address pools and helpers.

A config is plain data (dicts and lists, so that it copies and compares
easily). An edit (edits.py) changes it by one random step; `normalize` then
drops whatever that step made invalid (a gateway no subnet reaches, a publish
without an address), so that every config the test applies passes
`netd check`.

Addresses come from fixed pools so that no address is ever used twice:
bridge brB owns 10.60.B.0/24 and fd60:B::/64, with the host on .1 or .254
and namespaces on .10 to .250.
"""

import ipaddress

BRIDGES = ["br0", "br1", "br2"]
NAMESPACES = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"]
IFNAMES = ["eth0", "eth1"]
MTUS = [1280, 1400, 1450, 1500, 9000]
SYSCTLS = {
    "net.ipv4.ip_forward": ["0", "1"],
    "net.ipv6.conf.all.forwarding": ["0", "1"],
    "net.ipv4.conf.all.rp_filter": ["0", "1", "2"],
    "net.ipv4.icmp_echo_ignore_broadcasts": ["0", "1"],
}
MIN_NS, MAX_NS = 2, 6


def bridge_net(bridge, v6):
    b = BRIDGES.index(bridge)
    return ipaddress.ip_network(f"fd60:{b}::/64" if v6 else f"10.60.{b}.0/24")


def host_addr(bridge, v6, last):
    net = bridge_net(bridge, v6)
    return f"{net.network_address + last}/{net.prefixlen}"


def new_namespace():
    return {"loopback": [], "gateway": [], "sysctl": {}, "interfaces": [], "routes": [], "publish": []}


def all_addresses(cfg):
    out = set()
    for b in cfg["bridges"].values():
        out.update(b["addresses"])
    for ns in cfg["namespaces"].values():
        out.update(ns["loopback"])
        for i in ns["interfaces"]:
            out.update(i["addresses"])
    return {a.split("/")[0] for a in out}


def free_address(cfg, rng, bridge, v6):
    used = all_addresses(cfg)
    net = bridge_net(bridge, v6)
    for _ in range(50):
        a = net.network_address + rng.randint(10, 250)
        if str(a) not in used:
            return f"{a}/{net.prefixlen}"
    return None


def subnets(ns, v6):
    nets = set()
    for i in ns["interfaces"]:
        for a in i["addresses"]:
            n = ipaddress.ip_interface(a).network
            if (n.version == 6) == v6:
                nets.add(n)
    return nets


def devices_reaching(ns, gw):
    ip = ipaddress.ip_address(gw)
    return [
        i["name"]
        for i in ns["interfaces"]
        if any(ip in ipaddress.ip_interface(a).network for a in i["addresses"])
    ]


def gateway_candidates(ns, v6):
    """Addresses a route of `ns` can go via: the bridges' host addresses in
    the namespace's subnets (.1 or .254, whether or not the bridge has it)."""
    out = []
    for n in sorted(subnets(ns, v6), key=str):
        out += [str(n.network_address + 1), str(n.network_address + 254)]
    return out


def normalize(cfg):
    """Drops what the last edit made invalid; returns what it dropped."""
    dropped = []
    for name, ns in cfg["namespaces"].items():
        for i in ns["interfaces"]:
            if i["bridge"] not in cfg["bridges"]:
                dropped.append(f"{name}/{i['name']}")
        ns["interfaces"] = [i for i in ns["interfaces"] if i["bridge"] in cfg["bridges"]]
        keep = []
        for gw in ns["gateway"]:
            if devices_reaching(ns, gw):
                keep.append(gw)
            else:
                dropped.append(f"{name} gateway {gw}")
        ns["gateway"] = keep
        keep = []
        for r in ns["routes"]:
            devs = devices_reaching(ns, r["gateway"])
            if not devs:
                dropped.append(f"{name} route {r['destination']}")
                continue
            if r["device"] is not None and r["device"] not in devs:
                r["device"] = devs[0]
            keep.append(r)
        ns["routes"] = keep
        if not any(i["addresses"] for i in ns["interfaces"]) and ns["publish"]:
            dropped.append(f"{name} publishes")
            ns["publish"] = []
    return dropped


def pick_iface(cfg, rng, pred=lambda i: True):
    cands = [(n, i) for n, ns in cfg["namespaces"].items() for i in ns["interfaces"] if pred(i)]
    return rng.choice(cands) if cands else (None, None)


def pick_ns(cfg, rng, pred=lambda ns: True):
    cands = [n for n, ns in cfg["namespaces"].items() if pred(ns)]
    return rng.choice(cands) if cands else None
