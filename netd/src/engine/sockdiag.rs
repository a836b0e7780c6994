//! The host's listening TCP sockets and bound UDP sockets, IPv4 and IPv6,
//! in netd's own network namespace: an `ss -ltun` read straight from the
//! kernel with a netlink `sock_diag` dump (no `ss` process), then the
//! owning process of each from `/proc/*/fd`.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{
    AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, TCP_CLOSE, TCP_LISTEN,
};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags, nlas::Nla,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};

use super::EngineError;
use super::port_conflict::{HostSocket, SocketOwner};
use crate::model::Proto;

/// The host's sockets for which `relevant` holds, with their owners,
/// failing as an engine error. `/proc` is read only for those: on a host
/// with thousands of processes it is the slow part.
pub fn read_host_sockets(
    relevant: impl Fn(&HostSocket) -> bool,
) -> Result<Vec<HostSocket>, EngineError> {
    let mut sockets = host_sockets().map_err(|e| {
        EngineError::Firewall(format!(
            "cannot list the host's sockets with netlink sock_diag: {e}"
        ))
    })?;
    sockets.retain(|s| relevant(s));
    if !sockets.is_empty() {
        let owners = socket_owners(&sockets.iter().map(|s| s.inode).collect());
        for s in &mut sockets {
            s.owner = owners.get(&s.inode).cloned();
        }
    }
    Ok(sockets)
}

/// Every listening TCP socket and bound UDP socket of the current network
/// namespace (owners not filled in).
pub fn host_sockets() -> io::Result<Vec<HostSocket>> {
    let mut out = Vec::new();
    for proto in [Proto::Tcp, Proto::Udp] {
        for family in [AF_INET, AF_INET6] {
            out.extend(dump(proto, family)?);
        }
    }
    Ok(out)
}

fn dump(proto: Proto, family: u8) -> io::Result<Vec<HostSocket>> {
    // A bound, unconnected UDP socket is in TCP_CLOSE ("UNCONN" in ss).
    let (protocol, states) = match proto {
        Proto::Tcp => (IPPROTO_TCP, StateFlags::LISTEN),
        Proto::Udp => (IPPROTO_UDP, StateFlags::CLOSE),
    };
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut request = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol,
            extensions: ExtensionFlags::empty(),
            states,
            socket_id: if family == AF_INET6 {
                SocketId::new_v6()
            } else {
                SocketId::new_v4()
            },
        })
        .into(),
    );
    request.finalize();
    let mut buf = vec![0; request.buffer_len()];
    request.serialize(&mut buf);
    socket.send(&buf, 0)?;

    let mut out = Vec::new();
    let mut recv = Vec::with_capacity(64 * 1024);
    loop {
        recv.clear();
        let n = socket.recv(&mut recv, 0)?;
        let mut offset = 0;
        while offset < n {
            let msg = NetlinkMessage::<SockDiagMessage>::deserialize(&recv[offset..n])
                .map_err(|e| io::Error::other(format!("sock_diag reply: {e}")))?;
            let len = msg.header.length as usize;
            match msg.payload {
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                    out.extend(host_socket(proto, &r));
                }
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => {
                    return Err(io::Error::other(format!("sock_diag dump: {e:?}")));
                }
                _ => {}
            }
            if len == 0 {
                break;
            }
            offset += len;
        }
    }
}

fn host_socket(proto: Proto, r: &InetResponse) -> Option<HostSocket> {
    let h = &r.header;
    let port = h.socket_id.source_port;
    let wanted = match proto {
        Proto::Tcp => h.state == TCP_LISTEN,
        Proto::Udp => h.state == TCP_CLOSE,
    };
    if port == 0 || !wanted {
        return None;
    }
    let v6only = r.nlas.iter().any(|n| matches!(n, Nla::SkV6Only(true)));
    Some(HostSocket {
        proto,
        address: unmapped(h.socket_id.source_address),
        port,
        v6only: h.family == AF_INET6 && v6only,
        uid: h.uid,
        inode: h.inode,
        owner: None,
    })
}

/// A v4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address.
fn unmapped(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// Socket inode → the first process (lowest pid) holding it, for the
/// inodes `wanted`. Processes that vanish or that netd may not look into
/// are skipped: the owner is extra detail, never a reason to fail.
fn socket_owners(wanted: &HashSet<u32>) -> HashMap<u32, SocketOwner> {
    let mut owners = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return owners;
    };
    let mut pids: Vec<u32> = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let mut name = None;
        for fd in fds.flatten() {
            let Some(inode) = std::fs::read_link(fd.path())
                .ok()
                .and_then(|l| socket_inode(l.to_str()?))
            else {
                continue;
            };
            if !wanted.contains(&inode) || owners.contains_key(&inode) {
                continue;
            }
            let name = name
                .get_or_insert_with(|| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .map(|c| c.trim_end().to_string())
                        .unwrap_or_default()
                })
                .clone();
            owners.insert(inode, SocketOwner { pid, name });
        }
        if owners.len() == wanted.len() {
            break;
        }
    }
    owners
}

/// The inode of a `socket:[INODE]` fd link.
fn socket_inode(link: &str) -> Option<u32> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_links_name_socket_inodes() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[12345]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn v4_mapped_addresses_are_ipv4() {
        assert_eq!(
            unmapped("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            unmapped("2001:db8::1".parse().unwrap()),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_listener_of_this_process_is_found_with_its_owner() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let found = read_host_sockets(|s| s.port == port).unwrap();
        let s = found
            .iter()
            .find(|s| s.proto == Proto::Tcp && s.port == port)
            .unwrap_or_else(|| panic!("port {port} not in {found:?}"));
        assert_eq!(s.address, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s.owner.as_ref().map(|o| o.pid), Some(std::process::id()));
    }
}
