//! Sends requests pipelined: all of a batch is queued on the socket before
//! the first ack is awaited, because at a thousand namespaces the round trips,
//! not the kernel's work, are what costs.

use futures::StreamExt;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::Handle;

use super::Request;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NlError {
    #[error("{message} (errno {errno})")]
    Kernel { errno: i32, message: String },
    #[error("netlink connection closed")]
    Closed,
}

impl NlError {
    pub fn errno(&self) -> Option<i32> {
        match self {
            NlError::Kernel { errno, .. } => Some(*errno),
            NlError::Closed => None,
        }
    }
}

/// Sends every request of `batch` in order and returns one result each, in
/// the same order. The kernel handles the requests of one socket in the order
/// sent, so later requests may rely on earlier ones.
pub async fn execute(handle: &Handle, batch: Vec<Request>) -> Vec<Result<(), NlError>> {
    let mut handle = handle.clone();
    let mut pending = Vec::with_capacity(batch.len());
    for req in batch {
        let mut msg = NetlinkMessage::from(req.msg);
        msg.header.flags = req.flags;
        pending.push(handle.request(msg).map_err(|_| NlError::Closed));
    }
    let mut results = Vec::with_capacity(pending.len());
    for stream in pending {
        results.push(match stream {
            Ok(mut responses) => {
                let mut outcome = Ok(());
                while let Some(msg) = responses.next().await {
                    if let NetlinkPayload::Error(err) = msg.payload
                        && err.code.is_some()
                    {
                        outcome = Err(NlError::Kernel {
                            errno: -err.raw_code(),
                            message: err.to_io().to_string(),
                        });
                    }
                }
                outcome
            }
            Err(e) => Err(e),
        });
    }
    results
}
