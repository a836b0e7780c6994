//! tcp: passes when the connection is established. A frozen process still
//! completes handshakes from its listen backlog, so this proves less than
//! an application-level check.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::{InNamespace, Outcome, io_detail};

pub(super) async fn check(ns: &InNamespace, peer: SocketAddr) -> Outcome {
    match connect(ns, peer).await {
        Ok(_) => Ok("connected".to_string()),
        Err(err) => Err(io_detail(&err)),
    }
}

/// A connection to `peer` from inside the namespace.
pub(super) async fn connect(ns: &InNamespace, peer: SocketAddr) -> io::Result<TcpStream> {
    ns.tcp(peer).await?.connect(peer).await
}
