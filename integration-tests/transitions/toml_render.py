"""The TOML file netd reads, written from a configgen config."""

import json


def q(v):
    return json.dumps(v)


def arr(vs):
    return "[" + ", ".join(q(v) for v in vs) + "]"


def render(cfg):
    out = []
    for name, b in sorted(cfg["bridges"].items()):
        out.append(f"[bridge.{name}]")
        out.append(f"addresses = {arr(b['addresses'])}")
        if b["mtu"] is not None:
            out.append(f"mtu = {b['mtu']}")
        if b["isolate"]:
            out.append("isolate = true")
        if b["masquerade"]:
            out.append("masquerade = true")
        out.append("")
    for name, ns in sorted(cfg["namespaces"].items()):
        out.append(f"[namespace.{name}]")
        if ns["loopback"]:
            out.append(f"loopback = {arr(ns['loopback'])}")
        if ns["gateway"]:
            out.append(f"gateway = {arr(ns['gateway'])}")
        if ns["sysctl"]:
            out.append("sysctl = { " + ", ".join(f"{q(k)} = {q(v)}" for k, v in sorted(ns["sysctl"].items())) + " }")
        for i in ns["interfaces"]:
            out += ["", f"[[namespace.{name}.interface]]", f"name = {q(i['name'])}",
                    'kind = "veth"', f"bridge = {q(i['bridge'])}"]
            if i["addresses"]:
                out.append(f"addresses = {arr(i['addresses'])}")
            for key in ("host_name", "mac", "mtu"):
                if i[key] is not None:
                    out.append(f"{key} = {q(i[key])}")
            if i["ipv6_link_local"] is not None:
                out.append(f"ipv6_link_local = {str(i['ipv6_link_local']).lower()}")
        for r in ns["routes"]:
            out += ["", f"[[namespace.{name}.route]]", f"destination = {q(r['destination'])}",
                    f"gateway = {q(r['gateway'])}"]
            for key in ("device", "table", "metric"):
                if r[key] is not None:
                    out.append(f"{key} = {q(r[key])}")
        for p in ns["publish"]:
            out += ["", f"[[namespace.{name}.publish]]", f"port = {p['port']}",
                    f"to_port = {p['to_port']}", f"proto = {q(p['proto'])}"]
        out.append("")
    return "\n".join(out) + "\n"
