//! Probes against real servers on 127.0.0.1 in the test's own namespace:
//! a pass and each class of failure for every kind.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::testservers::{
    closed_tcp_port, closed_udp_port, dns_server, dns_server_on, http_server, tcp_listener,
    tcp_listener_on, udp_echo, udp_silent,
};
use super::{InNamespace, Probe, probe, qtype_by_name, rcode_by_name};
use crate::model::CheckKind;

const TIMEOUT: Duration = Duration::from_millis(300);

async fn run(kind: CheckKind) -> Probe {
    let ns = InNamespace::host().expect("a namespace thread");
    probe(&kind, TIMEOUT, &ns).await
}

fn tcp(peer: SocketAddr) -> CheckKind {
    CheckKind::Tcp {
        address: peer.ip(),
        port: peer.port(),
    }
}

fn udp(peer: SocketAddr, expect: Option<&str>) -> CheckKind {
    CheckKind::Udp {
        address: peer.ip(),
        port: peer.port(),
        payload: b"ping".to_vec(),
        expect: expect.map(|e| e.as_bytes().to_vec()),
    }
}

fn http(peer: SocketAddr, path: &str, status: u16, body: Option<&str>) -> CheckKind {
    CheckKind::Http {
        address: peer.ip(),
        port: peer.port(),
        path: path.into(),
        host: None,
        status,
        body: body.map(str::to_string),
    }
}

fn dns(peer: SocketAddr, name: &str, qtype: &str, rcode: &str, answer: Option<&str>) -> CheckKind {
    CheckKind::Dns {
        address: peer.ip(),
        port: peer.port(),
        name: name.into(),
        qtype: qtype.into(),
        rcode: rcode.into(),
        answer: answer.map(str::to_string),
    }
}

fn exec(command: &str, args: &[&str]) -> CheckKind {
    CheckKind::Exec {
        command: command.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

fn assert_probe(p: &Probe, ok: bool, detail: &str) {
    assert_eq!((p.ok, p.detail.as_str()), (ok, detail), "{p:?}");
    // Generous: other builds may share the machine.
    assert!(p.latency < TIMEOUT + Duration::from_millis(700), "{p:?}");
}

fn assert_timed_out(p: &Probe) {
    assert_probe(p, false, "timed out after 300 ms");
    assert!(p.latency >= TIMEOUT, "{p:?}");
}

#[tokio::test]
async fn tcp_connects_or_says_why_not() {
    assert_probe(&run(tcp(tcp_listener().await)).await, true, "connected");
    assert_probe(&run(tcp(closed_tcp_port().await)).await, false, "refused");
}

/// A listener whose backlog is full drops new handshakes: the connect hangs.
#[tokio::test]
async fn tcp_times_out_on_a_full_backlog() {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = listener.local_addr().expect("address");
    let socket = socket2::Socket::from(listener);
    socket.listen(0).expect("listen with a tiny backlog");
    // Connect until a handshake goes unanswered: the queue is then full.
    let mut held = Vec::new();
    let wait = Duration::from_millis(100);
    while let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, wait) {
        held.push(stream);
        assert!(held.len() < 8, "the backlog never filled");
    }
    assert_timed_out(&run(tcp(addr)).await);
}

#[tokio::test]
async fn udp_takes_any_reply_or_the_expected_one() {
    let echo = udp_echo().await;
    assert_probe(&run(udp(echo, None)).await, true, "reply of 10 bytes");
    assert_probe(
        &run(udp(echo, Some("ping"))).await,
        true,
        "reply of 10 bytes",
    );
    let lacks = "reply of 10 bytes lacks \"pong\"";
    assert_probe(&run(udp(echo, Some("pong"))).await, false, lacks);
    assert_probe(
        &run(udp(closed_udp_port().await, None)).await,
        false,
        "refused",
    );
    assert_timed_out(&run(udp(udp_silent().await, None)).await);
}

#[tokio::test]
async fn http_checks_status_and_body() {
    let server = http_server().await;
    assert_probe(
        &run(http(server, "/ok", 200, None)).await,
        true,
        "status 200",
    );
    let has = "status 200, body has \"good\"";
    assert_probe(
        &run(http(server, "/ok", 200, Some("good"))).await,
        true,
        has,
    );
    let lacks = "status 200, body lacks \"bad\"";
    assert_probe(
        &run(http(server, "/ok", 200, Some("bad"))).await,
        false,
        lacks,
    );
    let down = "status 503, expected 200";
    assert_probe(&run(http(server, "/down", 200, None)).await, false, down);
    let maintenance = "status 503, body has \"maintenance\"";
    let expected_503 = http(server, "/down", 503, Some("maintenance"));
    assert_probe(&run(expected_503).await, true, maintenance);
    assert_timed_out(&run(http(server, "/hang", 200, None)).await);
    let closed = closed_tcp_port().await;
    assert_probe(&run(http(closed, "/", 200, None)).await, false, "refused");
}

#[tokio::test]
async fn http_sends_the_configured_host_or_the_address() {
    let server = http_server().await;
    let own = format!("status 200, body has \"host={server}\"");
    let host = format!("host={server}");
    assert_probe(
        &run(http(server, "/host", 200, Some(&host))).await,
        true,
        &own,
    );
    let mut named = http(server, "/host", 200, Some("host=svc.example"));
    if let CheckKind::Http { host, .. } = &mut named {
        *host = Some("svc.example".into());
    }
    let has = "status 200, body has \"host=svc.example\"";
    assert_probe(&run(named).await, true, has);
}

#[tokio::test]
async fn dns_checks_rcode_and_answers() {
    let server = dns_server().await;
    let ok = |name, qtype, answer| dns(server, name, qtype, "NOERROR", answer);
    assert_probe(&run(ok("ok.test", "A", None)).await, true, "rcode NOERROR");
    let a = "rcode NOERROR, answer 192.0.2.1";
    assert_probe(&run(ok("ok.test", "a", Some("192.0.2.1"))).await, true, a);
    let v6 = "rcode NOERROR, answer 2001:db8:0::1";
    assert_probe(
        &run(ok("v6.test", "AAAA", Some("2001:db8:0::1"))).await,
        true,
        v6,
    );
    let cname = "rcode NOERROR, answer target.test";
    assert_probe(
        &run(ok("alias.test", "CNAME", Some("target.test"))).await,
        true,
        cname,
    );
    let txt = "rcode NOERROR, answer v=ok";
    assert_probe(&run(ok("txt.test", "TXT", Some("v=ok"))).await, true, txt);
    let nx = dns(server, "nothing.test", "A", "nxdomain", None);
    assert_probe(&run(nx).await, true, "rcode NXDOMAIN");
}

#[tokio::test]
async fn dns_failures_say_what_differs() {
    let server = dns_server().await;
    let servfail = dns(server, "broken.test", "A", "NOERROR", None);
    let rcode = "rcode SERVFAIL, expected NOERROR";
    assert_probe(&run(servfail).await, false, rcode);
    let wrong = dns(server, "ok.test", "A", "NOERROR", Some("192.0.2.9"));
    let answer = "answer 192.0.2.1, expected 192.0.2.9";
    assert_probe(&run(wrong).await, false, answer);
    let none = dns(server, "txt.test", "A", "NOERROR", Some("192.0.2.1"));
    let got_txt = "answer v=ok, expected 192.0.2.1";
    assert_probe(&run(none).await, false, got_txt);
    assert_timed_out(&run(dns(server, "silent.test", "A", "NOERROR", None)).await);
    let closed = dns(closed_udp_port().await, "ok.test", "A", "NOERROR", None);
    assert_probe(&run(closed).await, false, "refused");
    let bad_type = dns(server, "ok.test", "NOPE", "NOERROR", None);
    assert_probe(&run(bad_type).await, false, "unknown query type NOPE");
}

/// Sockets take the family of the address: an IPv6 anycast address works.
#[tokio::test]
async fn ipv6_addresses_are_probed_over_ipv6() {
    let lo6 = std::net::Ipv6Addr::LOCALHOST.into();
    assert_probe(
        &run(tcp(tcp_listener_on(lo6).await)).await,
        true,
        "connected",
    );
    let server = dns_server_on(lo6).await;
    let a = "rcode NOERROR, answer 192.0.2.1";
    assert_probe(
        &run(dns(server, "ok.test", "A", "NOERROR", Some("192.0.2.1"))).await,
        true,
        a,
    );
}

/// The names a config may use, checked by validation with these too.
#[test]
fn dns_names_of_types_and_rcodes() {
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::RecordType;
    assert_eq!(rcode_by_name("servfail"), Some(ResponseCode::ServFail));
    assert_eq!(rcode_by_name("NOERROR"), Some(ResponseCode::NoError));
    assert_eq!(rcode_by_name("NXDOMAIN"), Some(ResponseCode::NXDomain));
    assert_eq!(rcode_by_name("OK"), None);
    assert_eq!(qtype_by_name("aaaa"), Some(RecordType::AAAA));
    assert_eq!(qtype_by_name("PTR"), Some(RecordType::PTR));
    assert_eq!(qtype_by_name("NOPE"), None);
}

#[tokio::test]
async fn exec_passes_on_exit_0_only() {
    assert_probe(&run(exec("true", &[])).await, true, "exit status 0");
    assert_probe(
        &run(exec("sh", &["-c", "exit 1"])).await,
        false,
        "exit status 1",
    );
    let missing = "cannot run /nonexistent/check: not found";
    assert_probe(&run(exec("/nonexistent/check", &[])).await, false, missing);
}

/// The timeout kills the command: its process is gone (or a zombie about
/// to be reaped) right after the probe.
#[tokio::test]
async fn exec_timeout_kills_the_command() {
    let dir = std::env::temp_dir().join(format!("netd-exec-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pid_file = dir.join("pid");
    let script = format!("echo $$ > {}; exec sleep 5", pid_file.display());
    assert_timed_out(&run(exec("sh", &["-c", &script])).await);
    let pid = std::fs::read_to_string(&pid_file).expect("the command wrote its pid");
    let stat = format!("/proc/{}/stat", pid.trim());
    let mut alive = true;
    for _ in 0..50 {
        let state = std::fs::read_to_string(&stat).unwrap_or_default();
        alive = state
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with(['S', 'R']));
        if !alive {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
    assert!(!alive, "sleep still runs after the probe's timeout");
}

/// In a namespace of its own (a fresh one, with only a down `lo`), a probe
/// cannot reach this namespace's listener, and a command runs in it.
#[tokio::test]
async fn probes_run_inside_the_namespace() {
    let worker = crate::netns::NsWorker::spawn(1).expect("namespace thread");
    let fresh = worker
        .run(crate::netns::Target::Fresh, || {
            std::fs::File::open("/proc/thread-self/ns/net")
        })
        .await
        .expect("a fresh namespace")
        .expect("its nsfs file");
    let inode = std::os::unix::fs::MetadataExt::ino(&fresh.metadata().expect("nsfs stat"));
    let ns = InNamespace::new(std::sync::Arc::new(fresh)).expect("a namespace thread");
    let listener = tcp_listener().await;
    let inside = probe(&tcp(listener), TIMEOUT, &ns).await;
    assert!(!inside.ok, "{inside:?}");
    assert_eq!(inside.detail, "Network is unreachable (os error 101)");
    let same_ns = format!("[ \"$(readlink /proc/self/ns/net)\" = \"net:[{inode}]\" ]");
    let entered = probe(&exec("sh", &["-c", &same_ns]), TIMEOUT, &ns).await;
    assert_eq!(
        (entered.ok, entered.detail.as_str()),
        (true, "exit status 0")
    );
    let from_host = run(exec("sh", &["-c", &same_ns])).await;
    assert!(!from_host.ok, "the host runs in another namespace");
}

/// The daemon spawns probes on its runtime.
#[test]
fn a_probe_is_a_send_future() {
    fn send<T: Send>(_: &T) {}
    let ns = InNamespace::host().expect("a namespace thread");
    let kind = exec("true", &[]);
    send(&probe(&kind, TIMEOUT, &ns));
}
