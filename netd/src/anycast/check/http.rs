//! http: one GET over HTTP/1.1 with hyper, on a TCP connection made inside
//! the namespace. Passes on the expected status and, when a body substring
//! is set, on a body (its first 64 KiB) that contains it.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::{Response, client::conn::http1};
use hyper_util::rt::TokioIo;

use super::{InNamespace, Outcome, contains, io_detail, tcp};

/// How much of the body a check reads: enough for a status page, bounded so
/// that a service streaming forever cannot hold the probe.
const MAX_BODY: usize = 64 * 1024;

pub(super) struct Request<'a> {
    pub peer: SocketAddr,
    pub path: &'a str,
    pub host: Option<&'a str>,
    pub status: u16,
    pub body: Option<&'a str>,
}

pub(super) async fn check(ns: &InNamespace, want: Request<'_>) -> Outcome {
    let stream = tcp::connect(ns, want.peer)
        .await
        .map_err(|e| io_detail(&e))?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("http: {e}"))?;
    let host = match want.host {
        Some(host) => host.to_string(),
        None => want.peer.to_string(),
    };
    let request = hyper::Request::get(want.path)
        .header(HOST, host)
        .header(USER_AGENT, "netd-check")
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("http: {e}"))?;
        judge(response, &want).await
    };
    // The connection future moves the bytes; it runs beside the exchange
    // in this task, so nothing outlives the probe.
    tokio::pin!(connection);
    tokio::select! {
        outcome = exchange => outcome,
        Err(err) = &mut connection => Err(format!("http: {err}")),
    }
}

async fn judge(response: Response<Incoming>, want: &Request<'_>) -> Outcome {
    let status = response.status().as_u16();
    if status != want.status {
        return Err(format!("status {status}, expected {}", want.status));
    }
    let Some(wanted) = want.body else {
        return Ok(format!("status {status}"));
    };
    let body = read_body(response.into_body()).await?;
    if contains(&body, wanted.as_bytes()) {
        Ok(format!("status {status}, body has {wanted:?}"))
    } else {
        Err(format!("status {status}, body lacks {wanted:?}"))
    }
}

async fn read_body(mut body: Incoming) -> Result<Vec<u8>, String> {
    let mut read = Vec::new();
    while read.len() < MAX_BODY {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                }
            }
            Some(Err(err)) => return Err(format!("http body: {err}")),
            None => break,
        }
    }
    read.truncate(MAX_BODY);
    Ok(read)
}
