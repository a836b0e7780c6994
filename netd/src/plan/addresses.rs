//! Addresses of one link: what goes and what comes.

use ipnet::IpNet;

use super::change::{Change, Scope};
use crate::model::NETD_PROTO;
use crate::observe::ObservedAddr;

/// Diffs the addresses of one link. On links netd owns, every address that
/// is not desired goes (but the kernel's IPv6 link-local ones); on others
/// (`lo`) only addresses carrying netd's protocol mark do.
pub(super) fn diff_addresses<'a>(
    scope: &Scope,
    link: &str,
    desired: &[IpNet],
    observed: impl Iterator<Item = &'a ObservedAddr>,
    owned_link: bool,
    out: &mut Vec<Change>,
) {
    let observed: Vec<&ObservedAddr> = observed.collect();
    for addr in observed.iter().filter(|a| !desired.contains(&a.net)) {
        let link_local =
            matches!(addr.net.addr(), std::net::IpAddr::V6(v6) if v6.is_unicast_link_local());
        // Link-local addresses of netd's links are the business of
        // `LinkLocal`, whoever added them.
        let stale = if owned_link {
            !link_local
        } else {
            addr.proto == NETD_PROTO
        };
        if stale {
            out.push(Change::DeleteAddress {
                scope: scope.clone(),
                link: link.to_string(),
                addr: addr.net,
            });
        }
    }
    for addr in desired {
        if !observed.iter().any(|a| a.net == *addr) {
            out.push(Change::AddAddress {
                scope: scope.clone(),
                link: link.to_string(),
                addr: *addr,
            });
        }
    }
}
