"""Netlink listeners: one `ip monitor link address route` per namespace (and
one for the host namespace), each writing to its own file, and the parsing of
what they print.

A run of netd is bracketed by marker routes: before it, a blackhole route in
table 4242 (protocol 99, which netd leaves alone) is added in every listened
namespace; after it, the route is deleted. Netlink delivers each socket's
events in order, so everything a listener printed up to the marker's
deletion happened before the end of the run. The events read for a run are
those since the previous end marker, so a deletion between two runs is seen
too.
"""

import os
import re
import subprocess
import time

from kernel import HOST, NETNS_DIR

MARKER_TABLE = "4242"
LINK_RE = re.compile(r"^(Deleted )?(\d+): ([^:@\s]+)(@\S+)?: <")
ADDR_RE = re.compile(r"^(Deleted )?(\d+): (\S+)\s+(inet6?) (\S+)")


def end_needle(marker):
    """How a listener prints the deletion of a marker route (-N: type 6)."""
    return f"Deleted 6 {marker.split('/')[0]} table {MARKER_TABLE} "


def parse_event(text):
    """An event as a dict: kind link/address/route, deleted, and its fields."""
    deleted = text.startswith("Deleted ")
    m = LINK_RE.match(text)
    if m:
        first = text.split("\n")[0]
        # AF_BRIDGE messages (a port leaving its bridge, say) print without
        # qdisc and group; only RTM_DELLINK of the link itself has them.
        return {"kind": "link", "deleted": deleted, "index": int(m.group(2)),
                "name": m.group(3), "real": " qdisc " in first, "text": text}
    m = ADDR_RE.match(text)
    if m:
        return {"kind": "address", "deleted": deleted, "dev": m.group(3),
                "addr": m.group(5), "text": text}
    toks = text.split("\n")[0].split()
    if deleted:
        toks = toks[1:]
    ev = {"kind": "route", "deleted": deleted, "type": "unicast", "text": text}
    # With -N the route type is a number (6: blackhole); unicast has none.
    if toks and toks[0].isdigit():
        ev["type"] = toks.pop(0)
    if not toks:
        return ev
    ev["dst"] = toks.pop(0)
    while toks:
        k = toks.pop(0)
        if k in ("via", "dev", "table", "proto", "metric", "src", "scope", "pref") and toks:
            v = toks.pop(0)
            if k == "via" and v in ("inet", "inet6") and toks:
                v = toks.pop(0)
            ev["gateway" if k == "via" else k] = v
    return ev


def split_events(data):
    """`ip -ts monitor` output: each event starts with "[timestamp] ";
    continuation lines are indented."""
    events = []
    for line in data.split("\n"):
        if line.startswith("["):
            events.append(line.split("] ", 1)[1] if "] " in line else line)
        elif events and line.strip():
            events[-1] += "\n" + line
    return events


class Listener:
    def __init__(self, scope, logdir):
        self.scope = scope
        self.path = os.path.join(logdir, f"monitor-{scope.replace('-', 'host')}-{time.monotonic_ns()}.log")
        self.out = open(self.path, "w")
        # A handle on the namespace itself: its pin goes away when apply
        # --prune deletes it, and the markers must still reach it then.
        self.nsfd = None if scope == HOST else os.open(f"{NETNS_DIR}/{scope}", os.O_RDONLY)
        self.proc = subprocess.Popen(self._cmd("ip", "-ts", "-N", "monitor", "link", "address", "route"),
                                     stdout=self.out, stderr=subprocess.STDOUT, pass_fds=self._fds())
        self.pos = 0
        self.pending = ""

    def _fds(self):
        return () if self.nsfd is None else (self.nsfd,)

    def _cmd(self, *args):
        if self.nsfd is None:
            return list(args)
        return ["nsenter", f"--net=/proc/self/fd/{self.nsfd}", *args]

    def ip(self, *args):
        subprocess.run(self._cmd("ip", *args), check=True, capture_output=True, pass_fds=self._fds())

    def marker(self, verb, marker):
        self.ip("route", verb, "blackhole", marker, "table", MARKER_TABLE, "proto", "99")

    def _read(self):
        with open(self.path) as f:
            f.seek(self.pos)
            data = f.read()
        # Only whole lines; an event's continuation lines follow its first
        # line in the same write.
        cut = data.rfind("\n") + 1
        self.pos += len(data[:cut].encode())
        self.pending += data[:cut]

    def wait_for(self, needle, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            self._read()
            i = self.pending.find(needle)
            if i >= 0:
                nl = self.pending.find("\n", i)
                before, self.pending = self.pending[:nl + 1], self.pending[nl + 1:]
                return before
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"listener of {self.scope} did not print {needle!r} "
                                   f"(exit {self.proc.poll()}); log {self.path}")
            time.sleep(0.003)

    def ready(self, marker):
        """Waits until the monitor is subscribed: adds and deletes a marker
        route until the monitor prints it."""
        deadline = time.monotonic() + 5
        while True:
            self.marker("add", marker)
            self.marker("del", marker)
            try:
                self.wait_for(end_needle(marker), timeout=0.2)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.out.close()
        if self.nsfd is not None:
            os.close(self.nsfd)


class Listeners:
    def __init__(self, logdir):
        self.logdir = logdir
        self.by_scope = {}
        self.count = 0

    def _marker(self):
        self.count += 1
        return f"198.18.{self.count // 256 % 256}.{self.count % 256}/32"

    def sync(self, scopes):
        """Listens to exactly `scopes` from now on."""
        for s in list(self.by_scope):
            if s not in scopes:
                self.by_scope.pop(s).stop()
        for s in scopes:
            if s not in self.by_scope:
                lis = self.by_scope[s] = Listener(s, self.logdir)
                lis.ready(self._marker())

    def begin(self):
        self.current = self._marker()
        for lis in self.by_scope.values():
            lis.marker("add", self.current)

    def end(self):
        """{scope: [event]}: the events since the previous end, markers left out."""
        m = self.current
        for lis in self.by_scope.values():
            lis.marker("del", m)
        out = {}
        for s, lis in self.by_scope.items():
            text = lis.wait_for(end_needle(m))
            evs = [parse_event(e) for e in split_events(text)]
            out[s] = [e for e in evs if not (e["kind"] == "route" and e.get("table") == MARKER_TABLE)]
        return out

    def stop(self):
        self.sync([])
