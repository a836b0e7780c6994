//! Watches nftables (the NFNLGRP_NFTABLES group) for changes to the tables
//! netd writes to: `table inet netd`, and in integrate mode the host tables
//! that hold its tagged rules. A flush or a `systemctl reload nftables`
//! deletes them; the loop then restores them.

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, RwLock};

use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_NETFILTER;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::events::Event;
use crate::model::Desired;

const NFNLGRP_NFTABLES: u32 = 7;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWGEN: u16 = 15;
/// In every nftables object message (table, chain, rule, set, element
/// list), attribute 1 is the name of the table it belongs to.
const ATTR_TABLE: u16 = 1;
const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;

/// Tables netd cares about, as (nfproto family number, name).
pub type Tables = HashSet<(u8, String)>;

fn family_number(family: &str) -> Option<u8> {
    Some(match family {
        "inet" => 1,
        "ip" => 2,
        "arp" => 3,
        "netdev" => 5,
        "bridge" => 7,
        "ip6" => 10,
        _ => return None,
    })
}

/// `table inet netd` and the tables of the integrate chains.
pub fn tables_of(desired: &Desired) -> Tables {
    let mut tables: Tables = [(1, crate::nft::TABLE.to_string())].into();
    for c in &desired.policy.integrate_chains {
        if let Some(f) = family_number(&c.family) {
            tables.insert((f, c.table.clone()));
        }
    }
    tables
}

/// The table one nftables message is about: None for messages without a
/// table (a new generation) or that cannot be read.
fn table_of(msg: &[u8]) -> Option<(u8, String)> {
    let body = msg.get(NLMSG_HDRLEN..)?;
    let family = *body.first()?;
    let mut attrs = body.get(NFGENMSG_LEN..)?;
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if kind == ATTR_TABLE {
            let name = &attrs[4..len];
            let name = name.split(|b| *b == 0).next()?;
            return Some((family, String::from_utf8_lossy(name).into_owned()));
        }
        attrs = attrs.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    None
}

/// Whether any message of a datagram changes one of `tables`.
pub fn concerns(buf: &[u8], tables: &Tables) -> bool {
    let mut offset = 0;
    while offset + NLMSG_HDRLEN <= buf.len() {
        let header = &buf[offset..];
        let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = u16::from_ne_bytes([header[4], header[5]]);
        if len < NLMSG_HDRLEN || offset + len > buf.len() {
            return true;
        }
        let (subsys, msg) = (kind >> 8, kind & 0xff);
        if subsys == NFNL_SUBSYS_NFTABLES && msg != NFT_MSG_NEWGEN {
            match table_of(&buf[offset..offset + len]) {
                Some(t) if tables.contains(&t) => return true,
                Some(_) => {}
                // Unreadable: looked at rather than missed.
                None => return true,
            }
        }
        offset += len.next_multiple_of(4);
    }
    false
}

fn subscribe() -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_NETFILTER)?;
    socket.bind_auto()?;
    socket.add_membership(NFNLGRP_NFTABLES)?;
    let _ = socket.set_rx_buf_sz(1usize << 20);
    socket.set_non_blocking(true)?;
    Ok(socket)
}

async fn watch(socket: AsyncFd<Socket>, tables: Arc<RwLock<Tables>>, tx: UnboundedSender<Event>) {
    loop {
        let Ok(mut ready) = socket.readable().await else {
            return;
        };
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut relevant = false;
        loop {
            buf.clear();
            match socket.get_ref().recv(&mut buf, 0) {
                Ok(_) => {
                    relevant |= tables.read().map(|t| concerns(&buf, &t)).unwrap_or(true);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready.clear_ready();
                    break;
                }
                // Lost events may have been ours: look at the table.
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => relevant = true,
                Err(e) => {
                    tracing::warn!(error = %e, "nftables watcher stopped");
                    return;
                }
            }
        }
        tracing::trace!(relevant, "nftables notifications");
        if relevant && tx.send(Event::Nftables).is_err() {
            return;
        }
    }
}

/// Starts the watcher in the calling thread's (the host's) namespace.
pub fn start(
    tables: Arc<RwLock<Tables>>,
    tx: UnboundedSender<Event>,
) -> io::Result<JoinHandle<()>> {
    let socket = super::fd::register(subscribe()?, tokio::io::Interest::READABLE)?;
    Ok(tokio::spawn(watch(socket, tables, tx)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An nftables message as the kernel sends it: header, nfgenmsg, and a
    /// table-name attribute.
    fn message(msg: u16, family: u8, table: &str) -> Vec<u8> {
        let mut attr = Vec::new();
        let name_len = table.len() + 1;
        attr.extend(((4 + name_len) as u16).to_ne_bytes());
        attr.extend(ATTR_TABLE.to_ne_bytes());
        attr.extend(table.as_bytes());
        attr.push(0);
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let len = NLMSG_HDRLEN + NFGENMSG_LEN + attr.len();
        let mut out = Vec::new();
        out.extend((len as u32).to_ne_bytes());
        out.extend(((NFNL_SUBSYS_NFTABLES << 8) | msg).to_ne_bytes());
        out.extend([0u8; 10]);
        out.extend([family, 0, 0, 0]);
        out.extend(attr);
        out
    }

    #[test]
    fn only_changes_to_netds_tables_count() {
        let tables: Tables = [(1, "netd".to_string()), (2, "filter".to_string())].into();
        // NFT_MSG_DELTABLE of inet netd: a flush.
        assert!(concerns(&message(2, 1, "netd"), &tables));
        // A rule in ip filter (integrate mode).
        assert!(concerns(&message(6, 2, "filter"), &tables));
        // fail2ban adding set elements to its own table.
        assert!(!concerns(&message(12, 1, "f2b-table"), &tables));
        // Same name, another family.
        assert!(!concerns(&message(2, 10, "netd"), &tables));
        let mut two = message(12, 1, "f2b-table");
        two.extend(message(2, 1, "netd"));
        assert!(concerns(&two, &tables));
    }

    #[test]
    fn a_truncated_message_is_looked_at() {
        let mut m = message(2, 1, "other");
        m.truncate(m.len() - 6);
        assert!(concerns(&m, &[(1, "netd".to_string())].into()));
    }
}
