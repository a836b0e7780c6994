//! Each modelled iptables match, evaluated from its options on a synthetic
//! iptables-nft table.

use super::super::*;

/// An iptables rule: match, its options, and ACCEPT or DROP.
type XtRule<'a> = (&'a str, &'a str, &'a str);

/// The verdict, and which packet decided it.
type Want = (FlowVerdict, Option<Phase>);

/// `ip filter FORWARD` (policy `policy`) written by iptables-nft, one rule
/// per (match, options, ACCEPT|DROP), with its iptables-nft-save output
/// attached.
fn xt_forward(policy: &str, rules: &[XtRule<'_>]) -> Ruleset {
    let exprs = rules
        .iter()
        .map(|(name, _, target)| {
            let verdict = if *target == "ACCEPT" {
                "accept"
            } else {
                "drop"
            };
            serde_json::json!([{"xt": {"type": "match", "name": name}}, {verdict: null}])
        })
        .collect();
    let mut rs = synthetic(
        "ip",
        "filter",
        &[("FORWARD", Some(("forward", policy)), exprs)],
    );
    let mut save = format!("*filter\n:FORWARD {} [0:0]\n", policy.to_uppercase());
    for (name, opts, target) in rules {
        save.push_str(&format!("-A FORWARD -m {name} {opts} -j {target}\n"));
    }
    save.push_str("COMMIT\n");
    attach_xt_save(&mut rs, &XtSave::parse(Family::Ip, &save));
    assert_eq!(rs.warnings, Vec::<String>::new());
    rs
}

fn verdict(rs: &Ruleset, flow: &Flow) -> Want {
    let e = ex(rs, flow);
    (e.verdict, e.decided_by.map(|d| d.packet))
}

#[test]
fn xt_matches_are_evaluated_from_their_options() {
    use FlowVerdict::{Accepted, Dropped, Undetermined};
    let cases: &[(&str, &[XtRule<'_>], Want)] = &[
        // After netd's DNAT the forwarded packet goes to port 80.
        // The reply's destination port is the client's own: not known.
        (
            "drop",
            &[("multiport", "--dports 22,80:90", "ACCEPT")],
            (Undetermined, Some(Phase::Reply)),
        ),
        (
            "accept",
            &[("multiport", "--dports 22,80:90", "DROP")],
            (Dropped, Some(Phase::First)),
        ),
        (
            "accept",
            &[("multiport", "! --dports 22,80:90", "DROP")],
            (Undetermined, Some(Phase::Reply)),
        ),
        (
            "accept",
            &[("multiport", "--sports 8080", "DROP")],
            (Undetermined, Some(Phase::First)),
        ),
        // The first packet's source port is the client's own.
        (
            "accept",
            &[("multiport", "--ports 9999", "DROP")],
            (Undetermined, Some(Phase::First)),
        ),
        (
            "accept",
            &[("multiport", "--ports 80", "DROP")],
            (Dropped, Some(Phase::First)),
        ),
        // Docker's fix: conntrack's DNAT state holds for every packet.
        (
            "drop",
            &[("conntrack", "--ctstate DNAT", "ACCEPT")],
            (Accepted, None),
        ),
        (
            "drop",
            &[("conntrack", "--ctstatus DNAT", "ACCEPT")],
            (Accepted, None),
        ),
        (
            "accept",
            &[("conntrack", "--ctdir REPLY", "DROP")],
            (Dropped, Some(Phase::Reply)),
        ),
        (
            "accept",
            &[("state", "--state NEW", "DROP")],
            (Dropped, Some(Phase::First)),
        ),
        (
            "accept",
            &[("conntrack", "--ctstate NEW --ctstatus ASSURED", "DROP")],
            (Accepted, None),
        ),
        (
            "drop",
            &[
                ("conntrack", "--ctstate RELATED,ESTABLISHED", "ACCEPT"),
                ("tcp", "--dport 80 --syn", "ACCEPT"),
            ],
            (Accepted, None),
        ),
        (
            "accept",
            &[("tcp", "! --syn", "DROP")],
            (Dropped, Some(Phase::Reply)),
        ),
        (
            "accept",
            &[("tcp", "--tcp-flags SYN,ACK SYN", "DROP")],
            (Dropped, Some(Phase::First)),
        ),
        ("accept", &[("udp", "--dport 80", "DROP")], (Accepted, None)),
        // Forwarded: the destination is not the host's.
        (
            "accept",
            &[("addrtype", "--dst-type LOCAL", "DROP")],
            (Accepted, None),
        ),
        (
            "accept",
            &[("addrtype", "! --dst-type LOCAL", "DROP")],
            (Dropped, Some(Phase::First)),
        ),
        (
            "accept",
            &[("addrtype", "--dst-type MULTICAST", "DROP")],
            (Undetermined, Some(Phase::First)),
        ),
        (
            "accept",
            &[("addrtype", "--dst-type LOCAL --limit-iface-in", "DROP")],
            (Undetermined, Some(Phase::First)),
        ),
        (
            "accept",
            &[("set", "--match-set blocked src", "DROP")],
            (Undetermined, Some(Phase::First)),
        ),
        (
            "accept",
            &[("mark", "--mark 0x1", "DROP")],
            (Undetermined, Some(Phase::First)),
        ),
        (
            "accept",
            &[("hashlimit", "--hashlimit-upto 5/sec", "DROP")],
            (Undetermined, Some(Phase::First)),
        ),
        (
            "accept",
            &[("icmp", "--icmp-type 8", "DROP")],
            (Accepted, None),
        ),
    ];
    for (policy, rules, want) in cases {
        let rs = xt_forward(policy, rules);
        assert_eq!(
            verdict(&rs, &web4()),
            *want,
            "{policy} {rules:?}:\n{}",
            ex(&rs, &web4()).text()
        );
    }
}

/// Ahead of conntrack there is no connection yet: the state is INVALID and
/// any other conntrack option fails, `!` or not.
#[test]
fn conntrack_match_ahead_of_conntrack() {
    let raw = |opts: &str| {
        let mut rs = synthetic(
            "ip",
            "raw",
            &[(
                "PREROUTING",
                Some(("prerouting", "accept")),
                vec![
                    serde_json::json!([{"xt": {"type": "match", "name": "conntrack"}}, {"drop": null}]),
                ],
            )],
        );
        rs.tables[0].chains[0].base.as_mut().expect("base").prio = -300;
        let save = format!(
            "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m conntrack {opts} -j DROP\nCOMMIT\n"
        );
        attach_xt_save(&mut rs, &XtSave::parse(Family::Ip, &save));
        verdict(&rs, &web4()).0
    };
    assert_eq!(raw("--ctstate INVALID"), FlowVerdict::Dropped);
    assert_eq!(raw("--ctstate NEW"), FlowVerdict::Accepted);
    assert_eq!(raw("! --ctstatus ASSURED"), FlowVerdict::Accepted);
    assert_eq!(
        raw("--ctstate INVALID --ctdir ORIGINAL"),
        FlowVerdict::Accepted
    );
}
