//! The metrics endpoint: a TCP listener that answers each connection once
//! and closes it. A slow, silent or hostile peer costs one task for at most
//! [`IO_TIMEOUT`] and [`MAX_REQUEST`] bytes of memory; at most
//! [`MAX_CONNECTIONS`] are served at once, further ones wait in the
//! listen backlog.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::Metrics;
use super::http::{MAX_REQUEST, Next, next};

/// The time one connection gets, from accept to the last byte written.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

const MAX_CONNECTIONS: usize = 16;

/// Binds `addr` and serves `GET /metrics` on it until the task is dropped.
/// Fails only when the address cannot be bound.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_on(listener, metrics).await
}

/// Serves on a listener bound by the caller, who then learns a bind error
/// before anything else starts (and tests can bind port 0).
pub async fn serve_on(listener: TcpListener, metrics: Arc<Metrics>) -> std::io::Result<()> {
    serve_with(listener, metrics, IO_TIMEOUT).await
}

pub(super) async fn serve_with(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    io_timeout: Duration,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "metrics at http://{addr}/metrics");
    }
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return Ok(()); // The semaphore is never closed.
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors or a connection reset before it
                // was accepted: neither is the listener's fault. Pause so
                // that a persistent error does not spin.
                tracing::warn!("metrics: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(io_timeout, answer(stream, &metrics)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, "metrics: {e}"),
                Err(_) => tracing::debug!(%peer, "metrics: no complete request in {io_timeout:?}"),
            }
        });
    }
}

async fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut len = 0;
    loop {
        let n = stream.read(&mut buf[len..]).await?;
        len += n;
        match next(&buf[..len], n == 0 || len == MAX_REQUEST, metrics) {
            Next::Wait => continue,
            Next::Close => return Ok(()),
            Next::Reply(bytes) => {
                stream.write_all(&bytes).await?;
                return stream.shutdown().await;
            }
        }
    }
}
