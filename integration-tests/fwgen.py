#!/usr/bin/env python3
"""A random host firewall for integration-tests/tests/firewall_diff.sh.

    fwgen.py SEED [--classes CLASS,...]     (or FWGEN_CLASSES=CLASS,...)
    fwgen.py --dir DIR FIRST COUNT [--classes CLASS,...]
    fwgen.py --list-classes

Prints, for `nft -f -`, an nftables ruleset built from rule templates of 1
to 3 classes picked with random.Random(SEED): the same seed always prints
the same ruleset. --dir writes seeds FIRST .. FIRST+COUNT-1 to DIR/SEED.nft
in one run (one interpreter start for a whole test). What nft cannot hold
is on comment lines that nft ignores:

    #@class NAME          a class the ruleset was built from
    #@sysctl KEY=VALUE    a host sysctl to set (the test restores it after)
    #@legacy COMMAND...   an iptables-legacy / ip6tables-legacy command
    #@nonetd              delete table inet netd after netd apply

Classes: base (counters, logs, harmless rules); forward, prerouting,
input, output, postrouting (filter chains, policy accept or drop, random
matches and verdicts); ingress (netdev and inet ingress on the uplinks or
the bridge); notrack (raw-priority notrack, before and after conntrack);
limit (`limit rate` and `limit rate over`); reply (rules that drop only the
answer); sysctl (forwarding off, route_localnet off on the bridge); nat
(foreign DNAT and redirect before, at and after netd's priority, SNAT
after); legacy (iptables-legacy filter, nat, raw and mangle rules); sets
(named and anonymous sets, maps, vmaps); jumps (jump, goto, return into
user chains); reject (every reject variant); nonetd (table inet netd gone).

The names are those of firewall-lib.sh's sandbox: clients 192.0.2.100 and
2001:db8:1::100 on uplink, 198.51.100.100 and 2001:db8:2::100 on uplink2,
the host at .1 / ::1 of both, web at 10.88.70.2 and fd88:70::2 on
br-truth, published ports tcp 8088->80 and udp 5353->53, a host service
on tcp 9999.

Determinism in the kernel: every base chain of a family that carries IPv6,
at any hook but forward, starts with an accept for ICMPv6, so that no rule
drops neighbour discovery (whose effect would depend on the neighbour
cache a previous ruleset left); netdev chains never drop without an IP
match (ARP). Rate limits are far above the test's traffic (a few hundred
packets per ruleset): `limit rate` always matches, `limit rate over` never.
"""
import os
import random
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from fwgen_rules import RuleMaker  # noqa: E402

CLASSES = [
    "base", "forward", "prerouting", "input", "output", "postrouting",
    "ingress", "notrack", "limit", "reply", "sysctl", "nat", "legacy",
    "sets", "jumps", "reject", "nonetd",
]

class Ruleset:
    def __init__(self, rng):
        self.rng = rng
        self.tables = {}  # (family, name) -> {"sets": [...], "chains": [...]}
        self.order = []
        self.sysctls = []
        self.legacy = []
        self.nonetd = False
        self.n = 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def table(self, family):
        """An existing table of the family half the time, else a new one."""
        have = [k for k in self.order if k[0] == family]
        if have and self.rng.random() < 0.5:
            return self.rng.choice(have)
        key = (family, self.name("fw"))
        self.tables[key] = {"sets": [], "chains": []}
        self.order.append(key)
        return key

    def base(self, family, hook, prio, policy="accept", kind="filter", device=None):
        """A base chain; returns (table key, its rule list)."""
        key = self.table(family)
        rules = []
        if family in ("inet", "ip6", "netdev") and hook != "forward":
            rules.append("meta l4proto ipv6-icmp accept")
        dev = f' device "{device}"' if device else ""
        head = f"type {kind} hook {hook}{dev} priority {prio}; policy {policy};"
        self.tables[key]["chains"].append((self.name("c"), head, rules))
        return key, rules

    def user(self, key):
        """A user chain in table `key`; returns (name, its rule list)."""
        name, rules = self.name("u"), []
        # User chains first: a jump names a chain defined before it.
        self.tables[key]["chains"].insert(0, (name, None, rules))
        return name, rules

    def add_set(self, key, text):
        name = self.name("s")
        self.tables[key]["sets"].append(text.replace("NAME", name))
        return name

    def text(self):
        out = []
        for fam, name in self.order:
            t = self.tables[(fam, name)]
            out.append(f"table {fam} {name} {{")
            out.extend(f"\t{s}" for s in t["sets"])
            for cname, head, rules in t["chains"]:
                out.append(f"\tchain {cname} {{")
                if head:
                    out.append(f"\t\t{head}")
                out.extend(f"\t\t{r}" for r in rules)
                out.append("\t}")
            out.append("}")
        return "\n".join(out)


def pick_classes(rng, allowed):
    k = rng.choices([1, 2, 3], weights=[5, 3, 2])[0]
    return sorted(set(rng.choice(allowed) for _ in range(k)), key=CLASSES.index)


def generate(seed, allowed):
    rng = random.Random(seed)
    rs = Ruleset(rng)
    mk = RuleMaker(rng, rs)
    classes = pick_classes(rng, allowed)
    for c in classes:
        getattr(mk, "cls_" + c)()
    lines = [f"# fwgen.py {seed}: {' '.join(classes)}"]
    lines += [f"#@class {c}" for c in classes]
    lines += [f"#@sysctl {s}" for s in rs.sysctls]
    lines += [f"#@legacy {cmd}" for cmd in rs.legacy]
    if rs.nonetd:
        lines.append("#@nonetd")
    lines.append(rs.text())
    return "\n".join(lines) + "\n"


def main(argv):
    args = argv[1:]
    if args == ["--list-classes"]:
        print(" ".join(CLASSES))
        return 0
    want = os.environ.get("FWGEN_CLASSES", "")
    if len(args) >= 2 and args[-2] == "--classes":
        want = args[-1]
        args = args[:-2]
    elif args and args[-1].startswith("--classes="):
        want = args[-1].split("=", 1)[1]
        args = args[:-1]
    batch = len(args) == 4 and args[0] == "--dir"
    if not (len(args) == 1 or batch) or not all(a.isdigit() for a in args[-2 if batch else -1:]):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    allowed = [c for c in want.replace(",", " ").split() if c] or CLASSES
    unknown = [c for c in allowed if c not in CLASSES]
    if unknown:
        print(f"fwgen.py: unknown class {' '.join(unknown)} (classes: {' '.join(CLASSES)})", file=sys.stderr)
        return 2
    if not batch:
        sys.stdout.write(generate(int(args[0]), allowed))
        return 0
    first, count = int(args[2]), int(args[3])
    for seed in range(first, first + count):
        with open(os.path.join(args[1], f"{seed}.nft"), "w") as f:
            f.write(generate(seed, allowed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
