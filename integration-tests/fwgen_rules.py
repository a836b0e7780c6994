"""Rule templates of fwgen.py: match atoms, statements, and one method per
generator class (`cls_NAME`), each adding chains, sysctls or legacy
commands to a fwgen.Ruleset."""

ALL = {"ingress", "prerouting", "input", "forward", "output", "postrouting"}
IIF = {"ingress", "prerouting", "input", "forward"}
OIF = {"forward", "output", "postrouting"}
CT = ALL - {"ingress"}
FIB = {"prerouting", "input", "forward", "output"}
REJECT_HOOKS = {"input", "forward", "output"}

# (weight, family, l4, hooks, text). family: "4"/"6" need IPv4/IPv6 (ip,
# ip6, inet or netdev tables), "inet" only in inet tables; l4: the protocol
# the match implies.
ATOMS = [
    (3, "4", None, ALL, "ip saddr 192.0.2.0/24"),
    (3, "4", None, ALL, "ip saddr 198.51.100.0/24"),
    (1, "4", None, ALL, "ip saddr 198.51.100.100"),
    (1, "4", None, ALL, "ip saddr != 192.0.2.0/24"),
    (1, "4", None, ALL, "ip saddr 127.0.0.0/8"),
    (1, "4", None, ALL, "ip saddr 10.88.70.2"),
    (2, "4", None, ALL, "ip daddr 192.0.2.1"),
    (2, "4", None, ALL, "ip daddr 10.88.70.2"),
    (1, "4", None, ALL, "ip daddr 10.88.70.0/24"),
    (1, "4", None, ALL, "ip daddr 127.0.0.1"),
    (1, "4", None, ALL, "ip daddr != 10.88.70.2"),
    (3, "6", None, ALL, "ip6 saddr 2001:db8:1::/64"),
    (3, "6", None, ALL, "ip6 saddr 2001:db8:2::/64"),
    (1, "6", None, ALL, "ip6 saddr 2001:db8:2::100"),
    (1, "6", None, ALL, "ip6 saddr != 2001:db8:1::/64"),
    (1, "6", None, ALL, "ip6 saddr ::1"),
    (1, "6", None, ALL, "ip6 saddr fd88:70::2"),
    (2, "6", None, ALL, "ip6 daddr 2001:db8:1::1"),
    (2, "6", None, ALL, "ip6 daddr fd88:70::2"),
    (1, "6", None, ALL, "ip6 daddr fd88:70::/64"),
    (1, "6", None, ALL, "ip6 daddr ::1"),
    (1, "inet", None, ALL, "meta nfproto ipv4"),
    (1, "inet", None, ALL, "meta nfproto ipv6"),
    (2, None, "tcp", ALL, "meta l4proto tcp"),
    (2, None, "udp", ALL, "meta l4proto udp"),
    (1, None, "both", ALL, "meta l4proto { tcp, udp }"),
    (4, None, "tcp", ALL, "tcp dport 8088"),
    (3, None, "tcp", ALL, "tcp dport 80"),
    (4, None, "udp", ALL, "udp dport 5353"),
    (3, None, "udp", ALL, "udp dport 53"),
    (1, None, None, ALL, "th dport { 53, 80 }"),
    (1, None, None, ALL, "th dport { 5353, 8088 }"),
    (1, None, "tcp", ALL, "tcp dport 8080-8090"),
    (1, None, "tcp", ALL, "tcp dport 22"),
    (1, None, "udp", ALL, "udp dport 5000-6000"),
    (1, None, "tcp", ALL, "tcp dport != 80"),
    (1, None, None, ALL, "meta l4proto . th dport { tcp . 8088, udp . 53 }"),
    (2, None, None, IIF, 'iif "uplink"'),
    (2, None, None, IIF, 'iifname "uplink2"'),
    (2, None, None, IIF, 'iifname "up*"'),
    (1, None, None, IIF - {"ingress"}, 'iifname != "lo"'),
    (1, None, None, IIF - {"ingress"}, 'iif "lo"'),
    (1, None, None, IIF - {"ingress"}, 'iifname "br-*"'),
    (2, None, None, OIF, 'oif "br-truth"'),
    (2, None, None, OIF, 'oifname "br-*"'),
    (1, None, None, OIF, 'oif "lo"'),
    (1, None, None, OIF, 'oifname != "br-truth"'),
    (1, None, None, OIF, 'oifname "up*"'),
    (2, None, None, CT, "ct state new"),
    (1, None, None, CT, "ct state established,related"),
    (1, None, None, CT, "ct state invalid"),
    (1, None, None, CT, "ct state != established"),
    (1, None, None, CT, "ct state untracked"),
    (2, None, None, CT, "ct status dnat"),
    (1, None, None, CT, "ct direction original"),
    (1, None, None, CT, "ct direction reply"),
    (2, None, None, FIB, "fib daddr type local"),
    (1, None, None, FIB, "fib daddr type != local"),
    (1, None, "tcp", ALL, "tcp flags & (syn | ack) == syn"),
    (1, None, "tcp", ALL, "tcp flags syn"),
]
# Matches on the packet's IP header or above: what a netdev rule that drops
# needs, so that it never drops ARP.
IP_LEVEL = [a for a in ATOMS if a[1] in ("4", "6") or a[2] or "th dport" in a[4]]

SLOTS = ["saddr", "daddr", "dport", "iif", "oif", "ct state", "ct status", "ct direction", "fib", "flags", "l4proto", "nfproto"]


def slot(atom):
    """What an atom matches on: a rule has at most one atom per slot."""
    return next((s for s in SLOTS if s in atom[4]), atom[4])


ACCEPTS = ["accept", "counter accept"]
DROPS = ["drop", "counter drop", 'log prefix "fwgen " drop']
REJECTS = [
    "reject", "reject with tcp reset", "reject with icmpx type admin-prohibited",
    "reject with icmpx type port-unreachable", "reject with icmp type host-unreachable",
    "reject with icmpv6 type admin-prohibited",
]
# Far above the test's traffic: `limit rate` always matches, `limit rate
# over` never (see fwgen.py).
LIMITS = [
    "limit rate 10000/second burst 1000 packets accept",
    "limit rate 10000/second burst 1000 packets drop",
    "limit rate over 10000/second burst 1000 packets drop",
    "limit rate over 10000/second burst 1000 packets accept",
    "limit rate over 100 mbytes/second burst 10 mbytes drop",
]
FAMILIES = ["inet", "inet", "ip", "ip6"]

# (table family, (named set or map, or None; the rule that uses it)).
SET_RULES = [
    ("any", ("set NAME { type inet_proto . inet_service; elements = { tcp . 80, udp . 53, tcp . 8088 } }",
             "meta l4proto . th dport @NAME VERDICT")),
    ("any", ("map NAME { type inet_service : verdict; elements = { 80 : drop, 53 : accept, 8088 : accept, 5353 : drop } }",
             "th dport vmap @NAME")),
    ("any", (None, "tcp dport vmap { 8088 : drop, 80 : accept }")),
    ("any", (None, "udp dport vmap { 53 : accept, 5353 : drop }")),
    ("any", ('set NAME { type ifname; elements = { "uplink2" } }', "iifname @NAME VERDICT")),
    ("any", (None, "th dport { 53, 80 } VERDICT")),
    ("ip", ("set NAME { type ipv4_addr; flags interval; elements = { 198.51.100.0/24 } }", "ip saddr @NAME VERDICT")),
    ("ip", (None, "ip saddr vmap { 192.0.2.0/24 : accept, 198.51.100.0/24 : drop }")),
    ("ip6", ("set NAME { type ipv6_addr; flags interval; elements = { 2001:db8:2::/64 } }", "ip6 saddr @NAME VERDICT")),
    ("ip6", (None, "ip6 saddr vmap { 2001:db8:1::/64 : drop, 2001:db8:2::/64 : accept }")),
]


class RuleMaker:
    def __init__(self, rng, rs):
        self.rng = rng
        self.rs = rs

    # ------------------------------------------------------------ rules

    def atoms(self, fam, hook, n, pool=ATOMS, chosen=None):
        """n match atoms that fit the table family, the hook and each other."""
        chosen = list(chosen or [])
        for _ in range(n):
            ipfam = {a[1] for a in chosen if a[1] in ("4", "6")}
            ipfam |= {"4" if "ipv4" in a[4] else "6" for a in chosen if a[1] == "inet"}
            l4 = {a[2] for a in chosen if a[2]}
            cands = [
                a for a in pool
                if a not in chosen and hook in a[3]
                and not (a[1] == "inet" and fam != "inet")
                and not (fam == "ip" and a[1] == "6") and not (fam == "ip6" and a[1] == "4")
                and not (a[1] in ("4", "6") and ipfam - {a[1]})
                and not (a[1] == "inet" and ipfam)
                and not (a[2] and l4 - {a[2]})
                and slot(a) not in {slot(c) for c in chosen}
            ]
            if not cands:
                break
            chosen.append(self.rng.choices(cands, weights=[a[0] for a in cands])[0])
        return chosen

    def stmt(self, fam, hook, pool, chosen):
        """A statement from pool that is valid here, with the atoms it needs."""
        s = self.rng.choice(pool)
        ipfam = {a[1] for a in chosen if a[1] in ("4", "6")}
        ipfam |= {"4" if "ipv4" in a[4] else "6" for a in chosen if a[1] == "inet"}
        l4 = {a[2] for a in chosen if a[2]}
        if s.startswith("reject"):
            if hook not in REJECT_HOOKS or fam == "netdev":
                return "drop", chosen
            need = None
            if "tcp reset" in s and l4 - {"tcp"}:
                return "reject", chosen
            if "tcp reset" in s and not l4:
                chosen = chosen + [(0, None, "tcp", ALL, "meta l4proto tcp")]
            if "icmpx" in s and fam != "inet":
                return "reject", chosen
            if " icmp " in s:
                need = "4"
            if "icmpv6" in s:
                need = "6"
            if need and (ipfam - {need} or fam == {"4": "ip6", "6": "ip"}[need]):
                return "reject", chosen
            if need and fam == "inet" and not ipfam:
                chosen = chosen + [(0, "inet", None, ALL, f"meta nfproto ipv{need}")]
        return s, chosen

    def rule(self, fam, hook, pool, n=None, chosen=None, atom_pool=ATOMS):
        n = self.rng.choice([0, 1, 1, 2, 2, 3]) if n is None else n
        chosen = self.atoms(fam, hook, n, atom_pool, chosen)
        s, chosen = self.stmt(fam, hook, pool, chosen)
        return " ".join([a[4] for a in chosen] + [s])

    def rules(self, fam, hook, rules, pool, count=None):
        for _ in range(count or self.rng.randint(1, 3)):
            rules.append(self.rule(fam, hook, pool))

    def fam(self):
        return self.rng.choice(FAMILIES)

    def prio(self, usual):
        return self.rng.choice(usual + [self.rng.choice([-5, 10, 5, -110, -90])])

    def allow_first(self, fam, hook, rules):
        """What a policy-drop chain lets through for the connection."""
        if self.rng.random() < 0.6:
            rules.append("ct state established,related accept")
        if hook != "forward" and self.rng.random() < 0.5:
            rules.append('iif "lo" accept')
        self.rules(fam, hook, rules, ACCEPTS * 3 + DROPS, self.rng.randint(1, 3))

    # ------------------------------------------------------------ classes

    def cls_base(self):
        fam, hook = self.fam(), self.rng.choice(["forward", "prerouting", "input", "output"])
        _, rules = self.rs.base(fam, hook, self.prio([0]))
        rules += ["ct state invalid drop", "counter", 'log prefix "fwgen "', "tcp dport 22 drop"]

    def _filter(self, hook, prios, p_drop):
        fam = self.fam()
        drop = self.rng.random() < p_drop
        _, rules = self.rs.base(fam, hook, self.prio(prios), "drop" if drop else "accept")
        if drop:
            self.allow_first(fam, hook, rules)
        else:
            self.rules(fam, hook, rules, DROPS * 2 + REJECTS + ACCEPTS)

    def cls_forward(self):
        self._filter("forward", [0, 0, -150, 50, 100], 0.45)

    def cls_prerouting(self):
        self._filter("prerouting", [-300, -150, -100, 0], 0.0)

    def cls_input(self):
        self._filter("input", [0, 0, -150], 0.5)

    def cls_output(self):
        self._filter("output", [-300, -150, -100, 0, 100], 0.2)

    def cls_postrouting(self):
        self._filter("postrouting", [-150, 0, 90, 100, 110, 300], 0.15)
        if self.rng.random() < 0.4:
            fam = self.rng.choice(["ip", "inet"])
            _, rules = self.rs.base(fam, "postrouting", self.rng.choice([90, 100, 110]), kind="nat")
            rules.append(self.rng.choice(['oifname "br-truth" masquerade', "ip saddr 192.0.2.0/24 masquerade", "masquerade"]))

    def cls_ingress(self):
        dev = self.rng.choice(["uplink", "uplink", "uplink2", "br-truth"])
        fam = self.rng.choice(["netdev", "netdev", "inet"])
        _, rules = self.rs.base(fam, "ingress", self.rng.choice([-500, -150, 0, 10]), device=dev)
        for _ in range(self.rng.randint(1, 3)):
            first = self.atoms(fam, "ingress", 1, IP_LEVEL)
            rules.append(self.rule(fam, "ingress", DROPS * 2 + ACCEPTS + ["counter"], self.rng.choice([0, 1]), first))

    def cls_notrack(self):
        hook = self.rng.choice(["prerouting", "prerouting", "output"])
        fam = self.fam()
        _, rules = self.rs.base(fam, hook, self.rng.choice([-300, -300, -250, -150]))
        pool = [a for a in ATOMS if "dport" in a[4] or "saddr" in a[4] or "daddr" in a[4] or "if" in a[4]]
        for _ in range(self.rng.randint(1, 2)):
            rules.append(self.rule(fam, hook, ["notrack", "notrack counter"], self.rng.choice([1, 1, 2]), atom_pool=pool))

    def cls_limit(self):
        hook = self.rng.choice(["forward", "forward", "prerouting", "input", "output"])
        fam = self.fam()
        drop = hook == "forward" and self.rng.random() < 0.4
        _, rules = self.rs.base(fam, hook, self.prio([0]), "drop" if drop else "accept")
        for _ in range(self.rng.randint(1, 3)):
            rules.append(self.rule(fam, hook, LIMITS, self.rng.choice([0, 1, 1, 2])))

    def cls_reply(self):
        fam = self.fam()
        kind = self.rng.choice(["prerouting-drop", "synack", "forward", "input-drop"])
        if kind == "prerouting-drop":
            _, rules = self.rs.base(fam, "prerouting", self.prio([-300, -150, 0]), "drop")
            rules.append(self.rng.choice(["ct state new accept", 'iifname "up*" accept', "ct direction original accept", 'iifname != "br-truth" accept']))
            if self.rng.random() < 0.5:
                rules.append('iif "lo" accept')
        elif kind == "synack":
            hook = self.rng.choice(["prerouting", "input", "forward"])
            _, rules = self.rs.base(fam, hook, self.prio([0, -150]))
            rules.append(self.rng.choice(['iif "br-truth" tcp flags syn,ack drop', 'iif "br-truth" udp sport 53 drop', 'iifname "br-*" tcp flags & (syn | ack) == syn | ack drop']))
        elif kind == "forward":
            _, rules = self.rs.base(fam, "forward", self.prio([0]))
            rules.append(self.rng.choice(["ct direction reply drop", "ct state established drop", "tcp sport 80 drop", "udp sport 53 drop", 'iifname "br-truth" ct state established reject']))
        else:
            _, rules = self.rs.base(fam, "input", self.prio([0]), "drop")
            rules += self.rng.sample(['iif "lo" accept', "tcp dport 22 accept", "ct state new accept"], self.rng.randint(0, 2))

    def cls_sysctl(self):
        keys = ["net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0", "net.ipv4.conf.br-truth.route_localnet=0"]
        self.rs.sysctls += self.rng.sample(keys, self.rng.choice([1, 1, 1, 2]))

    def cls_nat(self):
        fam = self.rng.choice(["ip", "ip", "inet", "ip6"])
        hook = self.rng.choice(["prerouting", "prerouting", "output"])
        _, rules = self.rs.base(fam, hook, self.rng.choice([-150, -110, -101, -100, -100, -99, -90, 0]), kind="nat")
        v4 = [
            "tcp dport 8088 dnat ip to 10.88.70.2:80", "tcp dport 8088 dnat ip to 10.88.70.2:81",
            "udp dport 5353 dnat ip to 10.88.70.2:53", "dnat ip to tcp dport map { 8088 : 10.88.70.2 }",
            "ip daddr 127.0.0.1 tcp dport 8088 redirect to :9999",
        ]
        v6 = ["tcp dport 8088 dnat ip6 to [fd88:70::2]:80", "udp dport 5353 dnat ip6 to [fd88:70::2]:5399"]
        both = ["tcp dport 8088 redirect to :9999", "udp dport 5353 redirect to :5399", "tcp dport 22 redirect to :9999"]
        pool = both + (v4 if fam != "ip6" else []) + (v6 if fam != "ip" else [])
        for _ in range(self.rng.randint(1, 2)):
            r = self.rng.choice(pool)
            if self.rng.random() < 0.3:
                pre = self.atoms(fam, hook, 1, [a for a in ATOMS if "saddr" in a[4] or "iif" in a[4]])
                fixed = ("ip6 " if "ip6 to" in r else "ip " if "ip to" in r or "127." in r else "")
                if not pre or (fixed == "ip6 " and pre[0][1] == "4") or (fixed == "ip " and pre[0][1] == "6"):
                    pre = []
                r = " ".join([a[4] for a in pre] + [r])
            rules.append(r)

    def cls_legacy(self):
        cmds = [
            ["iptables-legacy -P FORWARD DROP", "iptables-legacy -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"],
            ["iptables-legacy -P FORWARD DROP"],
            ["iptables-legacy -A FORWARD -d 10.88.70.2 -p tcp --dport 80 -j DROP"],
            ["iptables-legacy -A FORWARD -s 198.51.100.0/24 -j REJECT"],
            ["iptables-legacy -t raw -A PREROUTING -p udp --dport 5353 -j CT --notrack"],
            ["iptables-legacy -t nat -A PREROUTING -p tcp --dport 8088 -j REDIRECT --to-ports 9999"],
            ["iptables-legacy -t mangle -A PREROUTING -p tcp --dport 8088 -j DROP"],
            ["iptables-legacy -A INPUT -p tcp --sport 80 -j DROP"],
            ["iptables-legacy -A FORWARD -j ACCEPT"],
            ["ip6tables-legacy -P FORWARD DROP", "ip6tables-legacy -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"],
            ["ip6tables-legacy -A FORWARD -p udp --dport 53 -j DROP"],
            ["ip6tables-legacy -A FORWARD -s 2001:db8:2::/64 -j DROP"],
        ]
        for group in self.rng.sample(cmds, self.rng.randint(1, 2)):
            self.rs.legacy += group

    def cls_sets(self):
        fam = self.fam()
        hook = self.rng.choice(["forward", "forward", "prerouting", "input"])
        drop = hook == "forward" and self.rng.random() < 0.5
        key, rules = self.rs.base(fam, hook, self.prio([0, -150]), "drop" if drop else "accept")
        opts = [s for f, s in SET_RULES if f in ("any", fam) or (f in ("ip", "ip6") and fam == "inet")]
        if drop:
            rules.append("ct state established,related accept")
        for _ in range(self.rng.randint(1, 3)):
            decl, use = self.rng.choice(opts)
            if decl:
                use = use.replace("@NAME", "@" + self.rs.add_set(key, decl))
            rules.append(use.replace("VERDICT", self.rng.choice(["accept", "drop"])))

    def cls_jumps(self):
        fam = self.fam()
        hook = self.rng.choice(["forward", "forward", "prerouting", "input", "output"])
        drop = self.rng.random() < 0.3
        key, rules = self.rs.base(fam, hook, self.prio([0]), "drop" if drop else "accept")
        name, urules = self.rs.user(key)
        self.rules(fam, hook, urules, ACCEPTS + DROPS + ["return", "counter"])
        if self.rng.random() < 0.4:
            name2, u2 = self.rs.user(key)
            self.rules(fam, hook, u2, ACCEPTS + DROPS + ["return"])
            urules.insert(self.rng.randint(0, len(urules)), self.rule(fam, hook, [f"jump {name2}", f"goto {name2}"], 1))
        if drop:
            rules.append("ct state established,related accept")
        rules.append(self.rule(fam, hook, [f"jump {name}", f"goto {name}"]))
        if self.rng.random() < 0.5:
            rules.append(self.rule(fam, hook, ACCEPTS + DROPS))

    def cls_reject(self):
        fam = self.fam()
        hook = self.rng.choice(["forward", "forward", "input", "output"])
        _, rules = self.rs.base(fam, hook, self.prio([0]))
        self.rules(fam, hook, rules, REJECTS)

    def cls_nonetd(self):
        self.rs.nonetd = True
