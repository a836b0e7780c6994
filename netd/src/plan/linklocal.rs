//! IPv6 link-local addresses of netd's links: whether the kernel makes one
//! (addr_gen_mode), and whether one is there. A crash between creating a
//! link and turning its link-local address off leaves one that the config
//! did not ask for; a link-local address deleted by hand is put back.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::{IpNet, Ipv6Net};

use super::change::{Change, Scope};
use crate::model::MacAddr;
use crate::observe::{ObservedAddr, ObservedLink};

/// IN6_ADDR_GEN_MODE_EUI64 and IN6_ADDR_GEN_MODE_NONE.
pub const MODE_EUI64: u8 = 0;
pub const MODE_NONE: u8 = 1;

/// The addr_gen_mode change a link needs: `Some(true)` to get a link-local
/// address, `Some(false)` to get none. A link without IPv6 (mode unknown)
/// needs nothing.
pub(super) fn mode_change(want: bool, link: &ObservedLink) -> Option<bool> {
    match link.addr_gen_mode {
        Some(MODE_NONE) if want => Some(true),
        Some(mode) if !want && mode != MODE_NONE => Some(false),
        _ => None,
    }
}

/// The address the kernel derives from `mac` in EUI-64 mode.
pub fn eui64_link_local(mac: MacAddr) -> IpNet {
    let m = mac.0;
    let addr = Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    );
    IpNet::V6(Ipv6Net::new(addr, 64).expect("64 is a valid prefix length"))
}

pub fn is_link_local(net: &IpNet) -> bool {
    matches!(net.addr(), IpAddr::V6(v6) if v6.is_unicast_link_local())
}

/// What one link of netd's wants of link-local addresses, and what it has.
pub(super) struct LinkLocal<'a> {
    pub scope: &'a Scope,
    pub link: &'a ObservedLink,
    pub want: bool,
    pub mac: MacAddr,
    /// Addresses the config names on the link: never removed here.
    pub configured: &'a [IpNet],
}

impl LinkLocal<'_> {
    /// Removes link-local addresses of a link that should have none, and
    /// puts back the EUI-64 one of a link that should have one (in other
    /// modes the kernel's choice of address cannot be predicted, and is
    /// left to the kernel).
    pub(super) fn diff<'o>(
        &self,
        observed: impl Iterator<Item = &'o ObservedAddr>,
        out: &mut Vec<Change>,
    ) {
        let present: Vec<IpNet> = observed
            .map(|a| a.net)
            .filter(|n| is_link_local(n) && !self.configured.contains(n))
            .collect();
        if !self.want {
            for addr in present {
                out.push(Change::DeleteAddress {
                    scope: self.scope.clone(),
                    link: self.link.name.clone(),
                    addr,
                });
            }
            return;
        }
        let eui64_mode = matches!(self.link.addr_gen_mode, Some(MODE_EUI64 | MODE_NONE));
        if present.is_empty() && eui64_mode {
            out.push(Change::AddAddress {
                scope: self.scope.clone(),
                link: self.link.name.clone(),
                addr: eui64_link_local(self.mac),
            });
        }
    }
}
