//! The fake kernel's handling of each netlink request netd sends.

use ipnet::IpNet;
use netlink_packet_core::NLM_F_REPLACE;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoVeth,
    LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};

use super::fake_kernel::{EEXIST, ENODEV, World, kernel_error};
use crate::model::{MacAddr, Route};
use crate::netlink::NlError;
use crate::observe::{NsObserved, ObservedAddr, ObservedLink, ObservedRoute};
use crate::plan::{MODE_EUI64, Scope, eui64_link_local};

const ESRCH: i32 = 3;
const EINVAL: i32 = 22;
const EADDRNOTAVAIL: i32 = 99;
const ENETUNREACH: i32 = 101;

type Done = Result<(), NlError>;

fn mac_of(bytes: &[u8]) -> Option<MacAddr> {
    <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
}

/// A new link from a creating RTM_NEWLINK, placed in `o`; its index is
/// the requested one when free.
fn place(o: &mut NsObserved, m: &LinkMessage) -> Result<ObservedLink, NlError> {
    let mut link = ObservedLink {
        index: m.header.index,
        mtu: 1500,
        addr_gen_mode: Some(MODE_EUI64),
        ..ObservedLink::default()
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(mac) => link.mac = mac_of(mac),
            LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
            LinkAttribute::Controller(b) => link.master = Some(*b),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        link.kind = Some(match k {
                            InfoKind::Veth => "veth".into(),
                            InfoKind::Bridge => "bridge".into(),
                            InfoKind::Dummy => "dummy".into(),
                            other => other.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    if o.link(&link.name).is_some() {
        return Err(kernel_error(EEXIST));
    }
    if link.index == 0 || o.link_by_index(link.index).is_some() {
        link.index = o.next_free_index();
    }
    if link.master.is_some() {
        link.hairpin = Some(false);
        link.isolated = Some(false);
    }
    o.links.push(link.clone());
    Ok(link)
}

/// Brings a link up: it gets its link-local address then.
fn come_up(o: &mut NsObserved, index: u32) {
    let Some(link) = o.links.iter_mut().find(|l| l.index == index) else {
        return;
    };
    if link.up {
        return;
    }
    link.up = true;
    let (mode, mac) = (link.addr_gen_mode, link.mac);
    if let (Some(MODE_EUI64), Some(mac)) = (mode, mac) {
        let net = eui64_link_local(mac);
        if !o.addrs.iter().any(|a| a.index == index && a.net == net) {
            o.addrs.push(ObservedAddr {
                index,
                net,
                proto: 0,
                tentative: false,
            });
        }
    }
}

impl World {
    pub(super) fn new_link(&mut self, scope: &Scope, m: LinkMessage) -> Done {
        let peer = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))) => Some(p.clone()),
                _ => None,
            }),
            _ => None,
        });
        let peer_scope = match &peer {
            Some(p) => {
                let fd = p.attributes.iter().find_map(|a| match a {
                    LinkAttribute::NetNsFd(fd) => Some(*fd),
                    _ => None,
                });
                let ns = fd.and_then(|fd| self.fds.get((fd - 100) as usize).cloned());
                Some(ns.map_or(scope.clone(), Scope::Ns))
            }
            None => None,
        };
        if let (Some(p), Some(ps)) = (&peer, &peer_scope) {
            let name = p.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            });
            if name.is_some_and(|n| self.scope_mut(ps).is_ok_and(|o| o.link(&n).is_some())) {
                return Err(kernel_error(EEXIST));
            }
        }
        let up = m.header.flags.contains(LinkFlags::Up);
        let link = place(self.scope_mut(scope)?, &m)?;
        if let (Some(p), Some(ps)) = (peer, peer_scope) {
            let mut p = p;
            p.attributes
                .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                    InfoKind::Veth,
                )]));
            let peer_link = place(self.scope_mut(&ps)?, &p)?;
            self.peers
                .push([(scope.clone(), link.index), (ps, peer_link.index)]);
        }
        if up {
            come_up(self.scope_mut(scope)?, link.index);
        }
        if *scope == Scope::Host {
            self.follow_ports(link.master);
        }
        Ok(())
    }

    pub(super) fn set_link(&mut self, scope: &Scope, m: LinkMessage) -> Done {
        let o = self.scope_mut(scope)?;
        let by_name = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) if m.header.index == 0 => o.link(n).map(|l| l.index),
            _ => None,
        });
        let index = by_name.unwrap_or(m.header.index);
        let link = o
            .links
            .iter_mut()
            .find(|l| l.index == index)
            .ok_or(kernel_error(ENODEV))?;
        let (old_master, old_mtu) = (link.master, link.mtu);
        let mut mode = None;
        for a in &m.attributes {
            match a {
                LinkAttribute::IfAlias(s) => link.alias = Some(s.clone()),
                LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
                LinkAttribute::Address(mac) => link.mac = mac_of(mac),
                LinkAttribute::Controller(b) => {
                    link.master = Some(*b);
                    link.hairpin = link.hairpin.or(Some(false));
                    link.isolated = link.isolated.or(Some(false));
                }
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        if let LinkInfo::PortData(InfoPortData::BridgePort(flags)) = i {
                            for f in flags {
                                match f {
                                    InfoBridgePort::HairpinMode(v) => link.hairpin = Some(*v),
                                    InfoBridgePort::Isolated(v) => link.isolated = Some(*v),
                                    _ => {}
                                }
                            }
                        }
                    }
                }
                LinkAttribute::AfSpecUnspec(specs) => {
                    for s in specs {
                        if let AfSpecUnspec::Inet6(v) = s {
                            for x in v {
                                if let AfSpecInet6::AddrGenMode(g) = x {
                                    mode = Some(u8::from(g));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let is_bridge = link.kind.as_deref() == Some("bridge");
        let (new_master, new_mtu) = (link.master, link.mtu);
        if m.header.change_mask.contains(LinkFlags::Up) {
            if m.header.flags.contains(LinkFlags::Up) {
                come_up(o, index);
            } else if let Some(l) = o.links.iter_mut().find(|l| l.index == index) {
                l.up = false;
            }
        }
        // IFLA_AF_SPEC comes after the up flag: a link-local address made
        // on the way up stays.
        if let (Some(mode), Some(l)) = (mode, o.links.iter_mut().find(|l| l.index == index)) {
            l.addr_gen_mode = Some(mode);
        }
        if *scope == Scope::Host {
            if is_bridge && new_mtu != old_mtu {
                self.mtu_set.insert(index);
            }
            if old_master != new_master || old_mtu != new_mtu {
                self.follow_ports(old_master);
                self.follow_ports(new_master);
            }
        }
        Ok(())
    }

    pub(super) fn del_link(&mut self, scope: &Scope, index: u32) -> Done {
        let o = self.scope_mut(scope)?;
        if o.link_by_index(index).is_none() {
            return Err(kernel_error(ENODEV));
        }
        self.remove_link(scope, index);
        Ok(())
    }

    pub(super) fn new_address(&mut self, scope: &Scope, m: AddressMessage) -> Done {
        let net = address_of(&m)?;
        let proto = m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Protocol(p) => Some(u8::from(*p)),
            _ => None,
        });
        let o = self.scope_mut(scope)?;
        if o.link_by_index(m.header.index).is_none() {
            return Err(kernel_error(ENODEV));
        }
        if o.addrs
            .iter()
            .any(|a| a.index == m.header.index && a.net == net)
        {
            return Err(kernel_error(EEXIST));
        }
        o.addrs.push(ObservedAddr {
            index: m.header.index,
            net,
            proto: proto.unwrap_or(0),
            tentative: false,
        });
        Ok(())
    }

    pub(super) fn del_address(&mut self, scope: &Scope, m: AddressMessage) -> Done {
        let net = address_of(&m)?;
        let index = m.header.index;
        let promote = self.promotes(scope, index);
        let o = self.scope_mut(scope)?;
        let pos = o
            .addrs
            .iter()
            .position(|a| a.index == index && a.net == net)
            .ok_or(kernel_error(EADDRNOTAVAIL))?;
        // The first address of a subnet on a link is its primary.
        let primary = !o.addrs[..pos]
            .iter()
            .any(|a| a.index == index && a.net.trunc() == net.trunc());
        o.addrs.remove(pos);
        if net.addr().is_ipv4() && primary && !promote {
            o.addrs
                .retain(|a| !(a.index == index && a.net.trunc() == net.trunc()));
        }
        let v4_left = o
            .addrs
            .iter()
            .any(|a| a.index == index && a.net.addr().is_ipv4());
        if net.addr().is_ipv4() && !v4_left {
            o.routes
                .retain(|r| !(r.oif == Some(index) && r.route.destination.addr().is_ipv4()));
        }
        Ok(())
    }

    fn promotes(&self, scope: &Scope, index: u32) -> bool {
        let Scope::Ns(ns) = scope else { return false };
        let Some(name) = self
            .namespaces
            .get(ns)
            .and_then(|o| o.link_by_index(index))
            .map(|l| l.name.clone())
        else {
            return false;
        };
        let key = format!("net.ipv4.conf.{name}.promote_secondaries");
        self.sysctls
            .get(ns)
            .and_then(|s| s.get(&key))
            .is_some_and(|v| v == "1")
    }

    pub(super) fn new_route(&mut self, scope: &Scope, m: RouteMessage, flags: u16) -> Done {
        let (route, oif) = route_of(&m)?;
        let o = self.scope_mut(scope)?;
        let oif = match (oif, route.gateway) {
            (Some(i), _) => Some(i),
            (None, Some(gw)) => o
                .addrs
                .iter()
                .find(|a| a.net.contains(&gw))
                .map(|a| a.index),
            (None, None) => return Err(kernel_error(EINVAL)),
        };
        let oif = oif.ok_or(kernel_error(ENETUNREACH))?;
        if o.link_by_index(oif).is_none() {
            return Err(kernel_error(ENODEV));
        }
        let key = key_of(&route);
        let existing = o.routes.iter().position(|r| key_of(&r.route) == key);
        let new = ObservedRoute {
            route,
            oif: Some(oif),
            proto: u8::from(m.header.protocol),
        };
        match existing {
            Some(pos) if flags & NLM_F_REPLACE != 0 => o.routes[pos] = new,
            Some(_) => return Err(kernel_error(EEXIST)),
            None => o.routes.push(new),
        }
        Ok(())
    }

    pub(super) fn del_route(&mut self, scope: &Scope, m: RouteMessage) -> Done {
        let (route, oif) = route_of(&m)?;
        let o = self.scope_mut(scope)?;
        let pos = o
            .routes
            .iter()
            .position(|r| {
                key_of(&r.route) == key_of(&route)
                    && route.gateway.is_none_or(|g| r.route.gateway == Some(g))
                    && oif.is_none_or(|i| r.oif == Some(i))
            })
            .ok_or(kernel_error(ESRCH))?;
        o.routes.remove(pos);
        Ok(())
    }
}

fn address_of(m: &AddressMessage) -> Result<IpNet, NlError> {
    m.attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Local(ip) | AddressAttribute::Address(ip) => {
                IpNet::new(*ip, m.header.prefix_len).ok()
            }
            _ => None,
        })
        .ok_or(kernel_error(EINVAL))
}

fn ip(a: &RouteAddress) -> Option<std::net::IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some((*v4).into()),
        RouteAddress::Inet6(v6) => Some((*v6).into()),
        _ => None,
    }
}

fn route_of(m: &RouteMessage) -> Result<(Route, Option<u32>), NlError> {
    let v6 = m.header.address_family == netlink_packet_route::AddressFamily::Inet6;
    let mut dst: std::net::IpAddr = if v6 {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    let (mut gateway, mut oif, mut metric) = (None, None, None);
    let mut table = u32::from(m.header.table);
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = ip(d).ok_or(kernel_error(EINVAL))?,
            RouteAttribute::Gateway(g) => gateway = ip(g),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = Some(*p),
            RouteAttribute::Table(t) => table = *t,
            _ => {}
        }
    }
    let destination =
        IpNet::new(dst, m.header.destination_prefix_length).map_err(|_| kernel_error(EINVAL))?;
    // The kernel reports the default metric as a number.
    let metric = Some(metric.unwrap_or(if v6 { 1024 } else { 0 }));
    let route = Route {
        destination,
        gateway,
        device: None,
        table,
        metric,
    };
    Ok((route, oif))
}

fn key_of(r: &Route) -> (IpNet, u32, Option<u32>) {
    (r.destination, r.table, r.metric)
}
