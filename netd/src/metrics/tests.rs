use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::http::MAX_REQUEST;
use super::serve::serve_with;
use super::{Metrics, Scope};
use crate::testutil::golden;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The exposition with the version replaced, so a release does not change
/// the golden file.
fn encoded(m: &Metrics) -> String {
    m.encode().replace(
        &format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
        "version=\"VERSION\"",
    )
}

/// The lines of `text` that start with `prefix`.
fn series<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn a_fresh_daemon_shows_zero_reconciles_and_its_version() {
    golden("metrics/fresh.txt", &encoded(&Metrics::new()));
}

#[test]
fn a_busy_daemon_encodes_sorted_series() {
    let m = Metrics::new();
    m.reconcile(Scope::Full, ms(1200), true);
    m.reconcile(Scope::Namespace, ms(10), true);
    m.reconcile(Scope::Namespace, ms(40), false);
    m.reconcile(Scope::Nftables, ms(200), true);
    for kind in ["route", "address", "nft", "address"] {
        m.drift_repaired(kind);
    }
    m.process_restart("web", "app");
    m.process_restart("bgp", "bird");
    m.process_restart("web", "app");
    m.set_process_state("web", "app", "starting");
    m.set_process_state("web", "app", "running");
    m.set_process_state("bgp", "bird", "failed");
    m.set_namespace_state("web", "drifted");
    m.set_namespace_state("web", "ok");
    m.set_namespace_state("bgp", "missing");
    golden("metrics/busy.txt", &encoded(&m));
}

#[test]
fn process_and_namespace_states_are_one_hot() {
    let m = Metrics::new();
    for state in ["starting", "running", "stopping", "waiting", "crashed"] {
        m.set_process_state("web", "app", state);
        let text = m.encode();
        let on = series(&text, "netd_process_state{")
            .into_iter()
            .filter(|l| l.ends_with(" 1"))
            .collect::<Vec<_>>();
        assert_eq!(
            on,
            [format!(
                "netd_process_state{{namespace=\"web\",process=\"app\",state=\"{state}\"}} 1"
            )],
            "{text}"
        );
    }
    m.set_namespace_state("web", "missing");
    m.set_namespace_state("web", "ok");
    let text = m.encode();
    assert_eq!(
        series(&text, "netd_namespace_state{namespace=\"web\"").len(),
        3,
        "{text}"
    );
    assert!(text.contains("netd_namespace_state{namespace=\"web\",state=\"ok\"} 1"));
    assert!(text.contains("netd_namespace_state{namespace=\"web\",state=\"missing\"} 0"));
}

#[test]
fn forgetting_drops_exactly_the_series_of_that_object() {
    let m = Metrics::new();
    for (ns, p) in [("web", "app"), ("web", "bird"), ("db", "app")] {
        m.set_process_state(ns, p, "running");
        m.process_restart(ns, p);
        m.set_namespace_state(ns, "ok");
    }
    m.forget_process("web", "bird");
    let text = m.encode();
    assert!(!text.contains("process=\"bird\""), "{text}");
    assert_eq!(
        series(&text, "netd_process_restarts_total{").len(),
        2,
        "{text}"
    );

    m.forget_namespace("web");
    let text = m.encode();
    assert!(!text.contains("namespace=\"web\""), "{text}");
    assert!(text.contains("netd_process_restarts_total{namespace=\"db\",process=\"app\"} 1"));
    assert!(text.contains("netd_namespace_state{namespace=\"db\",state=\"ok\"} 1"));
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::new();
    m.process_restart("web", "a\"b\\c\nd");
    let text = m.encode();
    assert!(
        text.contains(r#"process="a\"b\\c\nd"} 1"#),
        "the value is not escaped: {text}"
    );
}

/// A server on 127.0.0.1 with a short timeout, and its address.
async fn server(io_timeout: Duration) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let metrics = Arc::new(Metrics::new());
    metrics.drift_repaired("link");
    tokio::spawn(serve_with(listener, metrics, io_timeout));
    addr
}

/// Sends each part (with a pause between them), closes the write side when
/// `close` is set, and returns all that came back until the server closed.
async fn exchange(addr: std::net::SocketAddr, parts: &[&[u8]], close: bool) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    for part in parts {
        s.write_all(part).await.expect("write");
        tokio::time::sleep(ms(20)).await;
    }
    if close {
        s.shutdown().await.expect("shutdown");
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    read.expect("the server closes the connection in time")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_endpoint_answers_scrapes_and_survives_junk() {
    let addr = server(Duration::from_secs(5)).await;

    let r = exchange(addr, &[b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"], false).await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(
        r.contains("netd_drift_repairs_total{kind=\"link\"} 1\n"),
        "{r}"
    );

    // A request in pieces, as a slow client sends it.
    let r = exchange(
        addr,
        &[b"GE", b"T /metr", b"ics HTTP/1.1\r\n", b"\r\n"],
        false,
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");

    let r = exchange(addr, &[b"GET /nope HTTP/1.1\r\n\r\n"], false).await;
    assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
    let r = exchange(addr, &[b"DELETE /metrics HTTP/1.1\r\n\r\n"], false).await;
    assert!(r.starts_with("HTTP/1.1 405 "), "{r}");

    let r = exchange(addr, &[b"\x00\xff\x16\x03junk\r\n\r\n"], false).await;
    assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
    let r = exchange(addr, &[b"GET /metrics HTTP/1.1\r\nHost"], true).await;
    assert!(
        r.starts_with("HTTP/1.1 400 "),
        "a half request then EOF: {r}"
    );
    assert_eq!(
        exchange(addr, &[], true).await,
        "",
        "nothing sent, nothing back"
    );

    let big = vec![b'a'; MAX_REQUEST + 4096];
    let r = exchange(addr, &[b"GET /metrics HTTP/1.1\r\nX: ", &big], false).await;
    assert!(r.starts_with("HTTP/1.1 431 "), "{r}");

    // After all that, the server still answers.
    let r = exchange(addr, &[b"GET /metrics HTTP/1.0\r\n\r\n"], false).await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_timeout() {
    let addr = server(ms(300)).await;
    let started = std::time::Instant::now();
    let r = exchange(addr, &[b"GET /metrics HTTP/1.1\r\n"], false).await;
    assert_eq!(r, "", "a half request that stays open gets no answer");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Held-open connections beyond the limit still do not block a scrape
    // once they time out.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let r = exchange(addr, &[b"GET /metrics HTTP/1.1\r\n\r\n"], false).await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
}
