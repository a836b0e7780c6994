"""Make-before-break: no link, address or route that is in both the old and
the new config may be deleted during an apply, unless the plan before the
apply announced its replacement.

Evidence, per object in both configs:
- links: a real RTM_DELLINK event, or an ifindex that differs before and
  after the apply (the link was recreated);
- addresses: a deletion event;
- routes: a deletion event; and for IPv4 also a new-route event for a route
  that was already there, because the kernel removes IPv4 routes silently
  (no RTM_DELROUTE) when their device loses its last address, so the only
  trace of that is netd putting the route back.
"""

from kernel import HOST, host_end_name, netd_routes, route_matches, wanted_routes


def replacements(plan):
    """What the plan announced as replaced: [(kind, scope, target)], from
    JSON changes with a "replace" field or a text detail "(replace: ...)"."""
    out = []
    for c in plan.get("changes", []):
        if c.get("replace") or "replace:" in str(c.get("detail", "")):
            out.append((c.get("kind"), c.get("ns") or HOST, c.get("target", "")))
    return out


def kept_objects(old, new, pre):
    """Links, addresses and routes present in both configs, per scope."""
    links, addrs, routes = set(), set(), []
    for name in old["bridges"].keys() & new["bridges"].keys():
        links.add((HOST, name))
        for a in set(old["bridges"][name]["addresses"]) & set(new["bridges"][name]["addresses"]):
            addrs.add((HOST, name, a))
    for name in old["namespaces"].keys() & new["namespaces"].keys():
        o, n = old["namespaces"][name], new["namespaces"][name]
        for a in set(o["loopback"]) & set(n["loopback"]):
            addrs.add((name, "lo", a))
        new_ifs = {i["name"]: i for i in n["interfaces"]}
        for i in o["interfaces"]:
            j = new_ifs.get(i["name"])
            if not j:
                continue
            links.add((name, i["name"]))
            for a in set(i["addresses"]) & set(j["addresses"]):
                addrs.add((name, i["name"], a))
            hname = host_end_name(pre, name, i["name"])
            if hname and i["host_name"] == j["host_name"]:
                links.add((HOST, hname))
        for w in wanted_routes(o):
            if w in wanted_routes(n):
                routes.append((name, w))
    return links, addrs, routes


def exempt_links(repl, old, new, pre):
    """Links whose replacement the plan announced, with their veth peers."""
    out = set()
    for kind, scope, target in repl:
        if kind not in ("link", "veth", "dummy", "bridge"):
            continue
        name = target.split("/", 1)[1] if scope != HOST and "/" in target else target
        out.add((scope, name))
        for cfg in (old, new):
            for ns_name, ns in cfg["namespaces"].items():
                for i in ns["interfaces"]:
                    hname = host_end_name(pre, ns_name, i["name"]) or i["host_name"]
                    if (scope, name) in ((ns_name, i["name"]), (HOST, hname)):
                        out.add((ns_name, i["name"]))
                        out.add((HOST, hname))
    return out


def route_event_as_config(ev):
    """The parts of a route event that route_matches looks at."""
    r = {"dst": ev.get("dst"), "gateway": ev.get("gateway"), "dev": ev.get("dev"),
         "table": ev.get("table"), "metric": int(ev["metric"]) if "metric" in ev else 0}
    return r


def find_breaks(old, new, plan, events, pre, post):
    """Sentences, one per object in both configs that the apply broke."""
    repl = replacements(plan)
    ex_links = exempt_links(repl, old, new, pre)
    links, addrs, routes = kept_objects(old, new, pre)
    bad = []

    def announced(kind, scope, text):
        return any(k == kind and s == scope and text in t for k, s, t in repl)

    for scope, name in sorted(links):
        if (scope, name) in ex_links:
            continue
        where = f"{'host' if scope == HOST else scope}/{name}"
        for ev in events.get(scope, []):
            if ev["kind"] == "link" and ev["deleted"] and ev["real"] and ev["name"] == name:
                bad.append(f"link {where} deleted: {ev['text'].splitlines()[0]}")
        a = pre.get(scope, {}).get("links", {}).get(name)
        b = post.get(scope, {}).get("links", {}).get(name)
        if a and b and a["ifindex"] != b["ifindex"]:
            bad.append(f"link {where} recreated: ifindex {a['ifindex']} -> {b['ifindex']}")
    for scope, dev, addr in sorted(addrs):
        if (scope, dev) in ex_links or announced("address", scope, addr):
            continue
        for ev in events.get(scope, []):
            if ev["kind"] == "address" and ev["deleted"] and ev["dev"] == dev and ev["addr"] == addr:
                bad.append(f"address {addr} on {scope}/{dev} deleted: {ev['text'].splitlines()[0]}")
    for scope, want in routes:
        had = any(route_matches(want, r) for r in netd_routes(pre, scope)) if scope in pre else False
        for ev in events.get(scope, []):
            if ev["kind"] != "route" or ev.get("proto") != "200" or "gateway" not in ev:
                continue
            if not route_matches(want, route_event_as_config(ev)):
                continue
            if (scope, ev.get("dev")) in ex_links or announced("route", scope, want["destination"]):
                continue
            line = ev["text"].splitlines()[0]
            if ev["deleted"]:
                bad.append(f"route {want} in {scope} deleted: {line}")
            elif had and ":" not in want["gateway"]:
                bad.append(f"route {want} in {scope} was put back, so the kernel had dropped it "
                           f"during the apply: {line}")
    return bad
