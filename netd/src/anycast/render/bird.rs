//! BIRD 2 config: learn the announce routes from the kernel table netd
//! writes them to, and export exactly the service's prefixes over BGP or
//! OSPF. The working shapes and every knob's reason are measured in
//! `anycast-floor.md` (the research notes): `learn` takes netd's proto 201,
//! each kernel table needs its own BIRD table, a service-side graceful
//! restart keeps a dead speaker's path for 120 s, BFD at 100 ms × 3 finds a
//! frozen one in ~0.3 s.

use std::fmt::Display;

use super::setup::{Routing, Setup};
use super::{command_line, suggested_path};

pub(super) fn render(s: &Setup) -> String {
    let mut out = Vec::new();
    header(s, &mut out);
    out.push(format!("router id {};", s.router_id));
    out.push("# On stderr, which netd logs line by line.".into());
    out.push("log stderr { info, remote, warning, error, auth, fatal, bug };".into());
    out.push(String::new());
    for (family, used) in families(s) {
        if used {
            out.push(format!("{family} table anycast{};", &family[3..]));
        }
    }
    out.push(String::new());
    out.push("protocol device {".into());
    out.push("}".into());
    out.push(String::new());
    out.push(format!(
        "# netd's announce routes: kernel table {} (proto 201, which `learn` takes;",
        s.table
    ));
    out.push("# it ignores `kernel` and `bird`). Nothing is written back to the kernel.".into());
    for (family, used) in families(s) {
        if used {
            let n = &family[3..];
            out.push(format!("protocol kernel kernel{n} {{"));
            out.push(format!("  kernel table {};", s.table));
            out.push("  learn;".into());
            out.push(format!(
                "  {family} {{ table anycast{n}; import all; export none; }};"
            ));
            out.push("}".into());
        }
    }
    if s.bfd {
        out.push(String::new());
        out.push(
            "# A frozen speaker or a dead link is found in 0.3 s, not the 240 s hold time.".into(),
        );
        out.push("protocol bfd {".into());
        for name in s.bfd_interfaces() {
            out.push(format!(
                "  interface \"{name}\" {{ interval 100 ms; multiplier 3; }};"
            ));
        }
        out.push("}".into());
    }
    out.push(String::new());
    match &s.routing {
        Routing::Bgp {
            local_as,
            neighbor_as,
            sessions,
        } => {
            bgp_template(s, &mut out);
            for (i, session) in sessions.iter().enumerate() {
                let n = if session.neighbor.is_ipv4() { "4" } else { "6" };
                out.push(String::new());
                out.push(format!(
                    "# neighbor {} on {}",
                    session.neighbor, session.interface
                ));
                out.push(format!("protocol bgp peer{} from upstream {{", i + 1));
                out.push(format!("  local {} as {local_as};", session.local));
                out.push(format!("  neighbor {} as {neighbor_as};", session.neighbor));
                channel(s, n, "  ", &mut out);
                out.push("}".into());
            }
        }
        Routing::Ospf { area, interfaces } => {
            out.push("# The prefixes go out as external (E2) routes; the upstream needs".into());
            out.push(
                "# `ecmp on; merge external on;` to spread traffic over several services.".into(),
            );
            for (version, n, used) in [("v2", "4", !s.v4.is_empty()), ("v3", "6", !s.v6.is_empty())]
            {
                if !used {
                    continue;
                }
                out.push(format!("protocol ospf {version} ospf{n} {{"));
                channel(s, n, "  ", &mut out);
                out.push(format!("  area {area} {{"));
                for name in interfaces {
                    let bfd = if s.bfd { " bfd on;" } else { "" };
                    out.push(format!(
                        "    interface \"{name}\" {{ type ptp; hello 1; dead count 3;{bfd} }};"
                    ));
                }
                out.push("  };".into());
                out.push("}".into());
            }
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn families(s: &Setup) -> [(&'static str, bool); 2] {
    [("ipv4", !s.v4.is_empty()), ("ipv6", !s.v6.is_empty())]
}

fn header(s: &Setup, out: &mut Vec<String>) {
    let path = suggested_path(s.service);
    let ns = s.namespace;
    let lines = [
        format!(
            "BIRD 2 config for the anycast service {} in namespace {ns} ({}).",
            s.service,
            protocol_name(s)
        ),
        format!(
            "Written by `{}`; generate it again rather than editing it.",
            command_line(s.service, s.daemon, s.protocol)
        ),
        String::new(),
        format!(
            "While the service's checks pass, netd adds `PREFIX dev lo table {} proto 201`",
            s.table
        ),
        "in the namespace for each prefix (which stays an address on lo at all".into(),
        "times), and deletes it to withdraw; BIRD learns that route and announces".into(),
        "exactly the service's prefixes.".into(),
        String::new(),
        format!(
            "Save it (e.g. `{} > {path}`), check it",
            command_line(s.service, s.daemon, s.protocol)
        ),
        format!("with `bird -p -c {path}`, and let `netd run` supervise BIRD"),
        "in the namespace:".into(),
        String::new(),
        format!("  [[namespace.{ns}.process]]"),
        "  name = \"bird\"".into(),
        "  command = \"bird\"".into(),
        format!("  args = [\"-f\", \"-c\", \"{path}\", \"-s\", \"/run/bird-{ns}.ctl\"]"),
        "  capabilities = [\"CAP_NET_ADMIN\", \"CAP_NET_RAW\", \"CAP_NET_BIND_SERVICE\"]".into(),
        String::new(),
        format!("Sessions: birdc -s /run/bird-{ns}.ctl show protocols"),
    ];
    for line in lines {
        out.push(comment("#", line));
    }
    out.push(String::new());
}

/// A comment line, with no trailing space when empty.
pub(super) fn comment(mark: &str, text: impl Display) -> String {
    let text = text.to_string();
    if text.is_empty() {
        mark.to_string()
    } else {
        format!("{mark} {text}")
    }
}

pub(super) fn protocol_name(s: &Setup) -> &'static str {
    match s.routing {
        Routing::Bgp { .. } => "BGP",
        Routing::Ospf { .. } => "OSPF",
    }
}

fn bgp_template(s: &Setup, out: &mut Vec<String>) {
    out.push("# Short timers bring a session back within seconds; graceful restart off".into());
    out.push("# makes the upstream drop a crashed speaker's paths at once.".into());
    out.push("template bgp upstream {".into());
    out.push("  connect delay time 1;".into());
    out.push("  connect retry time 1;".into());
    out.push("  error wait time 1, 2;".into());
    out.push("  error forget time 1;".into());
    out.push("  graceful restart off;".into());
    if s.bfd {
        out.push("  bfd on;".into());
    }
    out.push("}".into());
}

/// The family's channel: nothing in, only the service's prefixes out.
fn channel(s: &Setup, n: &str, indent: &str, out: &mut Vec<String>) {
    let prefixes: Vec<String> = if n == "4" {
        s.v4.iter().map(ToString::to_string).collect()
    } else {
        s.v6.iter().map(ToString::to_string).collect()
    };
    out.push(format!("{indent}ipv{n} {{"));
    out.push(format!("{indent}  table anycast{n};"));
    out.push(format!("{indent}  import none;"));
    out.push(format!(
        "{indent}  export where net ~ [ {} ];",
        prefixes.join(", ")
    ));
    out.push(format!("{indent}}};"));
}
