//! udp: sends the payload and passes on a reply (containing `expect` when
//! it is set). No reply at all ends in the probe's timeout.

use std::net::SocketAddr;

use super::{InNamespace, Outcome, contains, io_detail};

/// The largest UDP payload.
const MAX_REPLY: usize = 65_535;

pub(super) async fn check(
    ns: &InNamespace,
    peer: SocketAddr,
    payload: &[u8],
    expect: Option<&[u8]>,
) -> Outcome {
    let socket = ns.udp(peer).await.map_err(|e| io_detail(&e))?;
    socket.send(payload).await.map_err(|e| io_detail(&e))?;
    let mut reply = vec![0u8; MAX_REPLY];
    let len = socket.recv(&mut reply).await.map_err(|e| io_detail(&e))?;
    match expect {
        Some(wanted) if !contains(&reply[..len], wanted) => Err(format!(
            "reply of {len} bytes lacks {:?}",
            String::from_utf8_lossy(wanted)
        )),
        _ => Ok(format!("reply of {len} bytes")),
    }
}
