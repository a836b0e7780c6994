//! One probe of one check, run from inside the service namespace against
//! the anycast address. Each kind lives in its own file; sockets come from
//! [`InNamespace`], which creates them on a thread that entered the
//! namespace and hands them to tokio for the I/O.

mod dns;
mod exec;
mod http;
mod socket;
mod tcp;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testservers;
mod udp;

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::model::CheckKind;

pub use dns::{qtype_by_name, rcode_by_name, rcode_name};
pub use socket::InNamespace;

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub ok: bool,
    pub latency: Duration,
    /// A short reason: "connected", "refused", "status 503, expected 200".
    pub detail: String,
}

/// What a kind's check returns: the detail of a pass, or of a failure.
type Outcome = Result<String, String>;

/// Runs one probe of `kind` inside `ns`; the whole probe, connection set-up
/// included, is bounded by `timeout`.
pub async fn probe(kind: &CheckKind, timeout: Duration, ns: &InNamespace) -> Probe {
    let start = Instant::now();
    let outcome = tokio::time::timeout(timeout, run(kind, ns)).await;
    let latency = start.elapsed();
    let (ok, detail) = match outcome {
        Ok(Ok(detail)) => (true, detail),
        Ok(Err(detail)) => (false, detail),
        Err(_) => (false, format!("timed out after {} ms", timeout.as_millis())),
    };
    Probe {
        ok,
        latency,
        detail,
    }
}

async fn run(kind: &CheckKind, ns: &InNamespace) -> Outcome {
    match kind {
        CheckKind::Tcp { address, port } => tcp::check(ns, SocketAddr::new(*address, *port)).await,
        CheckKind::Udp {
            address,
            port,
            payload,
            expect,
        } => {
            let peer = SocketAddr::new(*address, *port);
            udp::check(ns, peer, payload, expect.as_deref()).await
        }
        CheckKind::Http {
            address,
            port,
            path,
            host,
            status,
            body,
        } => {
            let request = http::Request {
                peer: SocketAddr::new(*address, *port),
                path,
                host: host.as_deref(),
                status: *status,
                body: body.as_deref(),
            };
            http::check(ns, request).await
        }
        CheckKind::Dns {
            address,
            port,
            name,
            qtype,
            rcode,
            answer,
        } => {
            let query = dns::Query {
                server: SocketAddr::new(*address, *port),
                name,
                qtype,
                rcode,
                answer: answer.as_deref(),
            };
            dns::check(ns, query).await
        }
        CheckKind::Exec { command, args } => exec::check(ns, command, args).await,
    }
}

/// The detail of a socket error: "refused" for the common case, which
/// says the service is not listening; the OS text otherwise.
fn io_detail(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => "refused".to_string(),
        _ => err.to_string(),
    }
}

/// Whether `haystack` contains `needle` (an empty needle always matches).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
