//! A model of the kernel for apply tests. It interprets netd's netlink
//! requests against plain observed data, with the side effects netd has to
//! predict: a bridge's MTU follows its smallest port unless it was set after
//! creation; IPv4 routes go when their link loses its last IPv4 address;
//! secondaries go with their primary unless promoted; a link that comes up
//! gets an IPv6 link-local address unless its addr_gen_mode is none; a veth
//! dies with its peer. Requests can be made to fail at random.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::RawFd;

use netlink_packet_route::RouteNetlinkMessage as Msg;

use super::xorshift::XorShift;
use crate::apply::Kernel;
use crate::model::Desired;
use crate::netlink::{NlError, Request};
use crate::netns::PinKind;
use crate::observe::{NsObserved, Observed, ObservedLink};
use crate::plan::Scope;
use crate::state::{PinId, State};

pub(super) const EEXIST: i32 = 17;
pub(super) const ENODEV: i32 = 19;
pub(super) const EIO: i32 = 5;

#[derive(Debug, Clone, Default)]
pub struct World {
    pub host: NsObserved,
    pub namespaces: BTreeMap<String, NsObserved>,
    /// Sysctls written, per namespace (the host's under "").
    pub sysctls: BTreeMap<String, BTreeMap<String, String>>,
    /// Bridges (host ifindex) whose MTU was set after creation.
    pub(super) mtu_set: BTreeSet<u32>,
    /// Both ends of each veth pair.
    pub(super) peers: Vec<[(Scope, u32); 2]>,
    /// Namespace fds handed out, by fd - 100.
    pub(super) fds: Vec<String>,
}

#[derive(Default)]
pub struct FakeKernel {
    pub world: RefCell<World>,
    /// While set, each request fails (with no effect) one time in `.1`.
    pub failures: RefCell<Option<(XorShift, u64)>>,
}

pub(super) fn kernel_error(errno: i32) -> NlError {
    NlError::Kernel {
        errno,
        message: format!("errno {errno}"),
    }
}

impl World {
    pub(super) fn scope_mut(&mut self, scope: &Scope) -> Result<&mut NsObserved, NlError> {
        match scope {
            Scope::Host => Ok(&mut self.host),
            Scope::Ns(ns) => self.namespaces.get_mut(ns).ok_or(kernel_error(ENODEV)),
        }
    }

    /// The bridge's MTU follows its smallest port (1500 without ports),
    /// unless it was set after creation.
    pub(super) fn follow_ports(&mut self, bridge: Option<u32>) {
        let Some(bridge) = bridge else { return };
        if self.mtu_set.contains(&bridge) {
            return;
        }
        let ports = self.host.links.iter().filter(|l| l.master == Some(bridge));
        let mtu = ports.map(|l| l.mtu).min().unwrap_or(1500);
        if let Some(b) = self.host.links.iter_mut().find(|l| l.index == bridge) {
            b.mtu = mtu;
        }
    }

    /// Removes a link with its addresses and routes, and its veth peer.
    pub(super) fn remove_link(&mut self, scope: &Scope, index: u32) {
        let Ok(o) = self.scope_mut(scope) else { return };
        let Some(pos) = o.links.iter().position(|l| l.index == index) else {
            return;
        };
        let link = o.links.remove(pos);
        o.addrs.retain(|a| a.index != index);
        o.routes.retain(|r| r.oif != Some(index));
        if *scope == Scope::Host {
            for port in o.links.iter_mut().filter(|l| l.master == Some(index)) {
                port.master = None;
            }
            self.mtu_set.remove(&index);
            self.follow_ports(link.master);
        }
        let me = (scope.clone(), index);
        if let Some(pos) = self.peers.iter().position(|p| p.contains(&me)) {
            let pair = self.peers.remove(pos);
            let other = pair.into_iter().find(|e| *e != me).expect("two ends");
            self.remove_link(&other.0, other.1);
        }
    }
}

impl FakeKernel {
    /// What `observe` would read for `desired` and `state`.
    pub fn observe(&self, desired: &Desired, state: &State) -> Observed {
        let w = self.world.borrow();
        let mut o = Observed {
            host: w.host.clone(),
            ..Observed::default()
        };
        let names: BTreeSet<&String> = desired
            .namespaces
            .keys()
            .chain(state.namespaces.keys())
            .collect();
        for name in names {
            let Some(inside) = w.namespaces.get(name) else {
                o.pins.insert(name.clone(), PinKind::Missing);
                continue;
            };
            let pin = PinKind::Namespace {
                id: super::pin_of(name),
            };
            o.pins.insert(name.clone(), pin);
            o.pinned.insert(name.clone());
            let mut inside = inside.clone();
            let keys = desired
                .namespaces
                .get(name)
                .into_iter()
                .flat_map(|n| n.sysctls.keys())
                .chain(
                    state
                        .namespaces
                        .get(name)
                        .into_iter()
                        .flat_map(|r| r.sysctls.keys()),
                );
            let written = w.sysctls.get(name);
            for k in keys {
                let v = written
                    .and_then(|s| s.get(k))
                    .cloned()
                    .unwrap_or("0".into());
                inside.sysctls.insert(k.clone(), Some(v));
            }
            o.namespaces.insert(name.clone(), inside);
        }
        for k in crate::nft::localnet_keys(desired) {
            let v = w.sysctls.get("").and_then(|s| s.get(&k)).cloned();
            o.host_sysctls.insert(k, v);
        }
        o
    }

    fn fails(&self) -> bool {
        let mut failures = self.failures.borrow_mut();
        failures
            .as_mut()
            .is_some_and(|(rng, one_in)| rng.below(*one_in) == 0)
    }
}

fn new_namespace() -> NsObserved {
    NsObserved {
        links: vec![ObservedLink {
            index: 1,
            name: "lo".into(),
            mtu: 65536,
            addr_gen_mode: Some(super::super::plan::MODE_EUI64),
            ..ObservedLink::default()
        }],
        ..NsObserved::default()
    }
}

impl Kernel for FakeKernel {
    async fn create_namespace(&self, ns: &str, _reuse_empty: bool) -> Result<PinId, String> {
        let mut w = self.world.borrow_mut();
        w.namespaces.insert(ns.to_string(), new_namespace());
        Ok(super::pin_of(ns))
    }

    async fn delete_namespace(&self, ns: &str, _expected: Option<PinId>) -> Result<(), String> {
        let mut w = self.world.borrow_mut();
        let scope = Scope::Ns(ns.to_string());
        let inside: Vec<u32> = w
            .namespaces
            .get(ns)
            .map(|o| o.links.iter().map(|l| l.index).collect())
            .unwrap_or_default();
        for index in inside {
            w.remove_link(&scope, index);
        }
        w.namespaces.remove(ns);
        w.sysctls.remove(ns);
        Ok(())
    }

    async fn ns_fd(&self, ns: &str) -> Result<RawFd, String> {
        let mut w = self.world.borrow_mut();
        w.fds.push(ns.to_string());
        Ok(99 + w.fds.len() as RawFd)
    }

    async fn netlink(&self, scope: &Scope, batch: Vec<Request>) -> Vec<Result<(), NlError>> {
        batch
            .into_iter()
            .map(|req| {
                if self.fails() {
                    return Err(kernel_error(EIO));
                }
                let mut w = self.world.borrow_mut();
                let create = req.flags & netlink_packet_core::NLM_F_CREATE != 0;
                match req.msg {
                    Msg::NewLink(m) if create => w.new_link(scope, m),
                    Msg::NewLink(m) | Msg::SetLink(m) => w.set_link(scope, m),
                    Msg::DelLink(m) => w.del_link(scope, m.header.index),
                    Msg::NewAddress(m) => w.new_address(scope, m),
                    Msg::DelAddress(m) => w.del_address(scope, m),
                    Msg::NewRoute(m) => w.new_route(scope, m, req.flags),
                    Msg::DelRoute(m) => w.del_route(scope, m),
                    _ => Err(kernel_error(EIO)),
                }
            })
            .collect()
    }

    async fn links(&self, scope: &Scope) -> Result<Vec<ObservedLink>, String> {
        let mut w = self.world.borrow_mut();
        let o = w.scope_mut(scope).map_err(|e| e.to_string())?;
        Ok(o.links.clone())
    }

    async fn write_sysctls(&self, ns: &str, values: Vec<(String, String)>) -> Result<(), String> {
        let mut w = self.world.borrow_mut();
        if !w.namespaces.contains_key(ns) {
            return Err(format!("no namespace {ns}"));
        }
        w.sysctls.entry(ns.to_string()).or_default().extend(values);
        Ok(())
    }

    fn save_state(&self, _state: &State) -> Result<(), String> {
        Ok(())
    }

    async fn write_host_sysctls(&self, values: Vec<(String, String)>) -> Result<(), String> {
        let mut w = self.world.borrow_mut();
        w.sysctls.entry(String::new()).or_default().extend(values);
        Ok(())
    }

    async fn nft(&self, _commands: String) -> Result<(), String> {
        Ok(())
    }

    fn release(&self, _ns: &str) {}
}
