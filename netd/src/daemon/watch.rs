//! Route-netlink watchers: one socket per managed namespace, opened inside
//! it and subscribed to link, address and route notifications, and one on
//! the host. Each tells the loop which namespace changed; it never reads
//! the kernel itself. Sockets wait in epoll through tokio: idle costs no
//! CPU.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Arc, RwLock};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage as Msg;
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::events::Event;
use super::relevance::{self, HostLinks};
use crate::netns::{PinKind, Registry};
use crate::state::PinId;

const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const RTMGRP_IPV6_ROUTE: u32 = 0x400;
const GROUPS: u32 =
    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE;

/// The host sees every link change of the machine; a bigger buffer makes
/// an overrun (and the full resync it costs) rarer during bursts.
const HOST_RCVBUF: usize = 4 << 20;

/// Opens a subscribed socket in the calling thread's namespace.
fn subscribe(rcvbuf: Option<usize>) -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    if let Some(size) = rcvbuf {
        // Best effort: the kernel caps it at net.core.rmem_max otherwise.
        let _ = socket.set_rx_buf_sz(size);
    }
    socket.bind(&SocketAddr::new(0, GROUPS))?;
    socket.set_non_blocking(true)?;
    Ok(socket)
}

/// Whose notifications a socket carries.
#[derive(Clone)]
enum Who {
    Namespace(String),
    Host(Arc<RwLock<HostLinks>>),
}

impl Who {
    fn name(&self) -> &str {
        match self {
            Who::Namespace(ns) => ns,
            Who::Host(_) => "host",
        }
    }

    fn event(&self) -> Event {
        match self {
            Who::Namespace(ns) => Event::Namespace(ns.clone()),
            Who::Host(_) => Event::Host,
        }
    }

    fn relevant(&self, msg: &Msg) -> bool {
        match self {
            Who::Namespace(_) => relevance::in_namespace(msg),
            Who::Host(links) => links
                .read()
                .map(|l| relevance::on_host(msg, &l))
                .unwrap_or(true),
        }
    }
}

/// Whether any message in one datagram may concern netd.
fn scan(buf: &[u8], who: &Who) -> bool {
    let mut offset = 0;
    let mut relevant = false;
    while offset < buf.len() {
        let Ok(msg) = NetlinkMessage::<Msg>::deserialize(&buf[offset..]) else {
            // A message netd cannot parse is looked at rather than missed.
            return true;
        };
        let len = msg.header.length as usize;
        if let NetlinkPayload::InnerMessage(m) = &msg.payload {
            relevant |= who.relevant(m);
        }
        if len == 0 {
            break;
        }
        offset += len.next_multiple_of(4);
    }
    relevant
}

async fn watch(socket: AsyncFd<Socket>, who: Who, tx: UnboundedSender<Event>) {
    loop {
        let Ok(mut ready) = socket.readable().await else {
            return;
        };
        // Allocated per burst, not per socket: a thousand idle watchers
        // hold no buffers.
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut relevant = false;
        loop {
            buf.clear();
            match socket.get_ref().recv(&mut buf, 0) {
                Ok(_) => relevant |= scan(&buf, &who),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready.clear_ready();
                    break;
                }
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                    let _ = tx.send(Event::Overrun(format!("netlink in {}", who.name())));
                }
                Err(e) => {
                    tracing::warn!(ns = who.name(), error = %e, "netlink watcher stopped");
                    let _ = tx.send(Event::Overrun(format!("watcher of {} failed", who.name())));
                    return;
                }
            }
        }
        if relevant && tx.send(who.event()).is_err() {
            return;
        }
    }
}

fn start(socket: Socket, who: Who, tx: UnboundedSender<Event>) -> io::Result<JoinHandle<()>> {
    let socket = super::fd::register(socket, tokio::io::Interest::READABLE)?;
    Ok(tokio::spawn(watch(socket, who, tx)))
}

/// The running watchers, kept in step with the managed namespaces.
pub struct Watchers {
    tx: UnboundedSender<Event>,
    namespaces: HashMap<String, (PinId, JoinHandle<()>)>,
    host: Option<JoinHandle<()>>,
    pub host_links: Arc<RwLock<HostLinks>>,
}

impl Drop for Watchers {
    fn drop(&mut self) {
        for (_, task) in self.namespaces.values() {
            task.abort();
        }
        if let Some(task) = &self.host {
            task.abort();
        }
    }
}

impl Watchers {
    pub fn new(tx: UnboundedSender<Event>) -> Watchers {
        Watchers {
            tx,
            namespaces: HashMap::new(),
            host: None,
            host_links: Arc::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.namespaces.len()
    }

    /// Watches exactly the namespaces in `managed` (name → what is at its
    /// pin): new ones get a socket, gone or replaced ones lose theirs (a
    /// socket would keep a deleted namespace alive).
    pub async fn sync(&mut self, registry: &Registry, managed: &BTreeMap<String, PinKind>) {
        if self.host.is_none() {
            let who = Who::Host(self.host_links.clone());
            let opened = registry.run_in(None, || subscribe(Some(HOST_RCVBUF))).await;
            match opened.map_err(io::Error::other).and_then(|s| s) {
                Ok(socket) => match start(socket, who, self.tx.clone()) {
                    Ok(task) => self.host = Some(task),
                    Err(e) => tracing::warn!(error = %e, "cannot watch the host's links"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot watch the host's links"),
            }
        }
        let wanted: HashMap<&String, PinId> = managed
            .iter()
            .filter_map(|(name, kind)| match kind {
                PinKind::Namespace { id } => Some((name, *id)),
                _ => None,
            })
            .collect();
        self.namespaces.retain(|name, (id, task)| {
            let keep = wanted.get(name) == Some(id);
            if !keep {
                task.abort();
            }
            keep
        });
        for (name, id) in wanted {
            if self.namespaces.contains_key(name) {
                continue;
            }
            let opened = registry.run_in(Some(name), || subscribe(None)).await;
            let started = opened
                .map_err(io::Error::other)
                .and_then(|s| s)
                .and_then(|s| start(s, Who::Namespace(name.clone()), self.tx.clone()));
            match started {
                Ok(task) => {
                    self.namespaces.insert(name.clone(), (id, task));
                }
                // The next resync tries again.
                Err(e) => tracing::warn!(ns = %name, error = %e, "cannot watch namespace"),
            }
        }
    }
}
