"""The transitions test's loop (tests/transitions.sh starts it in a sandbox):
EDITS random edits of a config, each applied with `netd apply --prune`.
After each apply: it exits 0 without errors; `netd plan --json` right after
has no changes; the kernel matches the config (kernel.compare); and nothing
in both the old and the new config was deleted (breaks.find_breaks).

Environment: NETD (binary), SEED, EDITS (default 200), WORKDIR (files),
KEEP_GOING=1 (report every failing edit, re-applying after each, instead of
stopping at the first), EDIT_KINDS=add_route,set_mtu,... (draw only these
edits of edits.py, to narrow a failure down), BREAK_EXPECTATION=1 (check a
wrong MTU, to see the test fail).
"""

import copy
import difflib
import json
import os
import re
import subprocess
import sys
import time

import breaks
import edits
import kernel
from listener import Listeners
from toml_render import render

NETD = os.environ["NETD"]
SEED = int(os.environ["SEED"])
EDITS = int(os.environ.get("EDITS", "200"))
WORK = os.environ["WORKDIR"]
KEEP_GOING = os.environ.get("KEEP_GOING") == "1"
BREAK = os.environ.get("BREAK_EXPECTATION") == "1"
KINDS = [k for k in os.environ.get("EDIT_KINDS", "").split(",") if k]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def netd(*args):
    p = subprocess.run([NETD, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def netd_json(*args):
    rc, out, err = netd(*args, "--json")
    try:
        return rc, json.loads(out), err
    except json.JSONDecodeError:
        return rc, {"unparsed": out}, err


def show_scope(scope):
    pre = [] if scope == kernel.HOST else ["-n", scope]
    out = []
    for args in (["link"], ["addr"], ["-N", "route", "show", "table", "all"],
                 ["-N", "-6", "route", "show", "table", "all"]):
        p = subprocess.run(["ip", *pre, *args], capture_output=True, text=True)
        out.append(f"$ ip {' '.join(pre + args)}\n{p.stdout}{p.stderr}")
    return "\n".join(out)


def report(n, desc, old, new, why, details):
    log(f"\nFAIL: seed {SEED}, edit {n}: {desc}")
    for w in why:
        log(f"  - {w}")
    diff = difflib.unified_diff(render(old).splitlines(), render(new).splitlines(),
                                "old.toml", "new.toml", lineterm="", n=2)
    log("config diff:\n" + "\n".join(diff))
    for title, text in details:
        log(f"--- {title}\n{text}")
    # The host namespace and the namespaces the failure or the edit names.
    named = " ".join(why) + " " + desc
    scopes = [kernel.HOST] + [s for s in sorted(new["namespaces"].keys() | old["namespaces"].keys())
                              if re.search(rf"\b{s}\b", named)]
    for s in scopes:
        if s == kernel.HOST or os.path.exists(f"{kernel.NETNS_DIR}/{s}"):
            log(f"--- kernel state of {'the host namespace' if s == kernel.HOST else s}\n{show_scope(s)}")
    log(f"FAIL: seed {SEED} (SEED={SEED} replays this run), edit {n}: {desc}")


def changes_text(out):
    """One JSON change a line (plan or apply output), then anything else."""
    if "changes" not in out:
        return json.dumps(out)
    rest = {k: v for k, v in out.items() if k != "changes"}
    return "\n".join([json.dumps(c) for c in out["changes"]] + [json.dumps(rest)])


def events_text(events):
    return "\n".join(f"[{s}] {e['text']}" for s, evs in sorted(events.items()) for e in evs
                     if (e["deleted"] and e["kind"] != "route") or e.get("proto") == "200")


def step(n, desc, old, new, path, listeners, pre):
    """Applies `new` over `old`; returns (failures, details, post snapshot)."""
    with open(path, "w") as f:
        f.write(render(new))
    why = []
    rc, plan, err = netd_json("plan", "--prune", "-c", path)
    details = [("plan before", changes_text(plan) + err)]
    if rc != 0:
        why.append(f"plan before the apply exited {rc}")
    listeners.begin()
    rc, out, err = netd_json("apply", "--prune", "-c", path)
    events = listeners.end()
    details.append(("apply", changes_text(out) + err))
    details.append(("netlink events since the last apply (link and address deletions, netd's routes)", events_text(events)))
    if rc != 0:
        why.append(f"apply exited {rc}")
    if out.get("errors"):
        why.append(f"apply reported errors: {out['errors']}")
    rc, after, err = netd_json("plan", "--prune", "-c", path)
    if rc != 0 or after.get("changes") != []:
        why.append(f"plan right after the apply (exit {rc}) is not empty: "
                   f"{json.dumps(after.get('changes', after))} {err.strip()}")
    post = kernel.snapshot(new)
    expect = copy.deepcopy(new)
    if BREAK and expect["namespaces"]:
        for ns in expect["namespaces"].values():
            for i in ns["interfaces"]:
                i["mtu"] = 1234
    why += [f"kernel: {b}" for b in kernel.compare(expect, post)]
    why += [f"make-before-break: {b}" for b in breaks.find_breaks(old, new, plan, events, pre, post)]
    return why, details, post


def main():
    log(f"transitions: seed {SEED}, {EDITS} edits (SEED={SEED} replays this run)")
    rng = edits.seeded(SEED)
    path = os.path.join(WORK, "netd.toml")
    listeners = Listeners(WORK)
    empty = {"bridges": {}, "namespaces": {}}
    cfg = edits.initial(rng)
    old, desc = empty, "initial config"
    pre = kernel.snapshot(empty)
    failures = 0
    start = time.monotonic()
    try:
        for n in range(EDITS + 1):
            if n > 0:
                old = cfg
                cfg = copy.deepcopy(cfg)
                desc = edits.edit(cfg, rng, KINDS)
            t0 = time.monotonic()
            listeners.sync([kernel.HOST] + sorted(old["namespaces"]))
            why, details, post = step(n, desc, old, cfg, path, listeners, pre)
            log(f"edit {n}: {desc} ({time.monotonic() - t0:.2f}s){'  FAILED' if why else ''}")
            if why:
                failures += 1
                report(n, desc, old, cfg, why, details)
                if not KEEP_GOING:
                    return 1
                # Converge before the next edit, and keep this apply's
                # events out of the next edit's.
                listeners.begin()
                netd("apply", "--prune", "-c", path)
                listeners.end()
                post = kernel.snapshot(cfg)
            pre = post
    finally:
        listeners.stop()
    log(f"transitions: {EDITS} edits in {time.monotonic() - start:.1f}s, {failures} failed (seed {SEED})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
