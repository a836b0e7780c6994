//! FRR 8.4 config, one file for every daemon of the namespace. The shapes
//! come from `anycast-frr.md` (the research notes): IPv4 is imported from
//! the announce table (`ip import-table N`, `redistribute table N`), which
//! 8.4 cannot do for IPv6, so IPv6 announce routes sit in the main table
//! and go out with `redistribute kernel`; eBGP needs explicit in/out
//! route-maps; a `redistribute table` under IPv6 silently moves the rest of
//! the address families, so it is never written there.
//!
//! Each daemon reads the whole file (`-f`) and skips the lines it does not
//! know, staying in the node it was in. So the file has no `exit` lines
//! (one read at the top level leaves config mode, and every later line
//! fails) and its sections come in an order where no daemon can take
//! another's lines: route-maps before `router …` (bfdd knows no
//! route-map), `router ospf6` before `router ospf` (ospfd would take
//! ospf6d's `redistribute kernel`), `bfd` last. The integration test
//! starts the daemons on the generated files and checks what each took.

use std::net::Ipv4Addr;

use super::bird::{comment, protocol_name};
use super::setup::{Routing, Setup};
use super::{command_line, suggested_path};

const V4: &str = "ANYCAST-4";
const V6: &str = "ANYCAST-6";
const NONE: &str = "ANYCAST-NONE";

pub(super) fn render(s: &Setup) -> String {
    let mut out = Vec::new();
    header(s, &mut out);
    out.push("frr defaults traditional".into());
    let has_v4 = !s.v4.is_empty();
    let has_v6 = !s.v6.is_empty();
    if has_v4 {
        out.push(format!("ip import-table {}", s.table));
    }
    out.push("!".into());
    for (i, p) in s.v4.iter().enumerate() {
        out.push(format!(
            "ip prefix-list {V4} seq {} permit {p}",
            5 * (i + 1)
        ));
    }
    for (i, p) in s.v6.iter().enumerate() {
        out.push(format!(
            "ipv6 prefix-list {V6} seq {} permit {p}",
            5 * (i + 1)
        ));
    }
    if has_v4 {
        out.push(format!("route-map {V4} permit 10"));
        out.push(format!(" match ip address prefix-list {V4}"));
    }
    if has_v6 {
        out.push(format!("route-map {V6} permit 10"));
        out.push(format!(" match ipv6 address prefix-list {V6}"));
    }
    match &s.routing {
        Routing::Bgp {
            local_as,
            neighbor_as,
            sessions,
        } => {
            out.push(format!("route-map {NONE} deny 10"));
            out.push("!".into());
            out.push(format!("router bgp {local_as}"));
            out.push(format!(" bgp router-id {}", s.router_id));
            out.push(" no bgp default ipv4-unicast".into());
            out.push(" bgp graceful-restart-disable".into());
            for session in sessions {
                let n = session.neighbor;
                out.push(format!(" neighbor {n} remote-as {neighbor_as}"));
                out.push(format!(" neighbor {n} timers connect 1"));
                if s.bfd {
                    out.push(format!(" neighbor {n} bfd profile fast"));
                }
            }
            for (v6, used, afi, redistribute, map) in [
                (false, has_v4, "ipv4", format!("table {}", s.table), V4),
                (true, has_v6, "ipv6", "kernel".to_string(), V6),
            ] {
                if !used {
                    continue;
                }
                out.push(format!(" address-family {afi} unicast"));
                out.push(format!("  redistribute {redistribute} route-map {map}"));
                for session in sessions.iter().filter(|x| x.neighbor.is_ipv6() == v6) {
                    let n = session.neighbor;
                    out.push(format!("  neighbor {n} activate"));
                    out.push(format!("  neighbor {n} route-map {NONE} in"));
                    out.push(format!("  neighbor {n} route-map {map} out"));
                }
                out.push(" exit-address-family".into());
            }
        }
        Routing::Ospf { area, interfaces } => {
            let area = Ipv4Addr::from(*area);
            out.push("!".into());
            for name in interfaces {
                out.push(format!("interface {name}"));
                if has_v4 {
                    out.push(format!(" ip ospf area {area}"));
                    out.push(" ip ospf network point-to-point".into());
                    out.push(" ip ospf hello-interval 1".into());
                    out.push(" ip ospf dead-interval 3".into());
                    if s.bfd {
                        out.push(" ip ospf bfd".into());
                        out.push(" ip ospf bfd profile fast".into());
                    }
                }
                if has_v6 {
                    out.push(format!(" ipv6 ospf6 area {area}"));
                    out.push(" ipv6 ospf6 network point-to-point".into());
                    out.push(" ipv6 ospf6 hello-interval 1".into());
                    out.push(" ipv6 ospf6 dead-interval 3".into());
                    if s.bfd {
                        out.push(" ipv6 ospf6 bfd".into());
                        out.push(" ipv6 ospf6 bfd profile fast".into());
                    }
                }
                out.push("!".into());
            }
            if has_v6 {
                out.push("router ospf6".into());
                out.push(format!(" ospf6 router-id {}", s.router_id));
                out.push(format!(" redistribute kernel route-map {V6}"));
                out.push("!".into());
            }
            if has_v4 {
                out.push("router ospf".into());
                out.push(format!(" ospf router-id {}", s.router_id));
                out.push(format!(" redistribute table {} route-map {V4}", s.table));
            }
        }
    }
    if s.bfd {
        out.push("!".into());
        out.push("bfd".into());
        out.push(" profile fast".into());
        out.push("  receive-interval 100".into());
        out.push("  transmit-interval 100".into());
        out.push("  detect-multiplier 3".into());
    }
    out.push("!".into());
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The daemons that read the file.
fn daemons(s: &Setup) -> Vec<&'static str> {
    let mut list = vec!["zebra"];
    match s.routing {
        Routing::Bgp { .. } => list.push("bgpd"),
        Routing::Ospf { .. } => {
            if !s.v4.is_empty() {
                list.push("ospfd");
            }
            if !s.v6.is_empty() {
                list.push("ospf6d");
            }
        }
    }
    if s.bfd {
        list.push("bfdd");
    }
    list
}

fn header(s: &Setup, out: &mut Vec<String>) {
    let path = suggested_path(s.service);
    let ns = s.namespace;
    let command = command_line(s.service, s.daemon, s.protocol);
    let mut lines = vec![
        format!(
            "FRR 8.4 config for the anycast service {} in namespace {ns} ({}).",
            s.service,
            protocol_name(s)
        ),
        format!("Written by `{command}`; generate it again rather than editing it."),
        String::new(),
        "netd serves each prefix as an AnyIP route (`local PREFIX dev lo table local`)".into(),
        "and, while the service's checks pass, announces it with a route".into(),
        format!(
            "`PREFIX dev lo proto 201` in table {} (IPv4) or main (IPv6); deleting",
            s.table
        ),
        "that route withdraws it. Only the service's prefixes go out.".into(),
        String::new(),
        format!("Save it (e.g. `{command} > {path}`),"),
        format!("check it with `vtysh -C -f {path}`, and let `netd run`"),
        "supervise each daemon in the namespace. Every daemon reads this whole file,".into(),
        format!(
            "with its sockets under /run/frr/{ns}/ (-N {ns}; the frr package creates /run/frr)."
        ),
        "The file must be readable by user frr.".into(),
    ];
    lines.extend([
        String::new(),
        "The routing daemons start once zebra's socket is there: they register".into(),
        "their BFD sessions with zebra on reading the file and when a session comes".into(),
        "up, and one sent before they reached zebra is never sent again.".into(),
    ]);
    for daemon in daemons(s) {
        let flags = format!("-N {ns} -f {path} -P 0 --log stdout");
        lines.push(String::new());
        lines.push(format!("  [[namespace.{ns}.process]]"));
        lines.push(format!("  name = \"{daemon}\""));
        if matches!(daemon, "zebra" | "bfdd") {
            let args: Vec<String> = flags.split(' ').map(|a| format!("\"{a}\"")).collect();
            lines.push(format!("  command = \"/usr/lib/frr/{daemon}\""));
            lines.push(format!("  args = [{}]", args.join(", ")));
        } else {
            lines.push("  command = \"/bin/sh\"".into());
            lines.push(format!(
                "  args = [\"-c\", \"until [ -S /run/frr/{ns}/zserv.api ]; do sleep 0.1; done; \
                 exec /usr/lib/frr/{daemon} {flags}\"]"
            ));
        }
    }
    lines.push(String::new());
    let show = match s.routing {
        Routing::Bgp { .. } => "show bgp summary",
        Routing::Ospf { .. } => "show ip ospf neighbor",
    };
    lines.push(format!("Sessions: vtysh -N {ns} -c '{show}'"));
    for line in lines {
        out.push(comment("!", line));
    }
    out.push("!".into());
}
