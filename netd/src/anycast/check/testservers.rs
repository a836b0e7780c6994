//! Servers on 127.0.0.1 for the probe tests, each a task on the test's
//! runtime that ends with it.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, TXT};
use hickory_proto::rr::{Name, RData, Record};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, UdpSocket};

const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Accepts and drops every connection.
pub async fn tcp_listener() -> SocketAddr {
    tcp_listener_on(LOCALHOST.into()).await
}

pub async fn tcp_listener_on(ip: IpAddr) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind tcp");
    let addr = listener.local_addr().expect("tcp address");
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });
    addr
}

/// A port nothing listens on: bound, then closed.
pub async fn closed_tcp_port() -> SocketAddr {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("bind tcp");
    listener.local_addr().expect("tcp address")
}

pub async fn closed_udp_port() -> SocketAddr {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.expect("bind udp");
    socket.local_addr().expect("udp address")
}

/// Replies to every datagram with "echo: " and the datagram.
pub async fn udp_echo() -> SocketAddr {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.expect("bind udp");
    let addr = socket.local_addr().expect("udp address");
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((len, from)) = socket.recv_from(&mut buf).await {
            let reply = [b"echo: ", &buf[..len]].concat();
            let _ = socket.send_to(&reply, from).await;
        }
    });
    addr
}

/// Reads every datagram and never answers.
pub async fn udp_silent() -> SocketAddr {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.expect("bind udp");
    let addr = socket.local_addr().expect("udp address");
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while socket.recv_from(&mut buf).await.is_ok() {}
    });
    addr
}

/// A hyper server: /ok answers 200 "all good", /host echoes the Host
/// header, /down answers 503, /hang never answers.
pub async fn http_server() -> SocketAddr {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("bind http");
    let addr = listener.local_addr().expect("http address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(
                http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(respond)),
            );
        }
    });
    addr
}

async fn respond(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match request.uri().path() {
        "/ok" => (200, "all good".to_string()),
        "/host" => {
            let host = request.headers().get("host").and_then(|h| h.to_str().ok());
            (200, format!("host={}", host.unwrap_or("")))
        }
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            (200, String::new())
        }
        "/down" => (503, "maintenance".to_string()),
        _ => (404, String::new()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    Ok(response)
}

/// A DNS responder over UDP: ok.test A 192.0.2.1, v6.test AAAA 2001:db8::1,
/// alias.test CNAME target.test., txt.test TXT "v=ok", broken.test
/// SERVFAIL, silent.test no answer at all, anything else NXDOMAIN.
pub async fn dns_server() -> SocketAddr {
    dns_server_on(LOCALHOST.into()).await
}

pub async fn dns_server_on(ip: IpAddr) -> SocketAddr {
    let socket = UdpSocket::bind((ip, 0)).await.expect("bind dns");
    let addr = socket.local_addr().expect("dns address");
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((len, from)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            if let Some(reply) = answer(&query) {
                let wire = reply.to_vec().expect("encode the reply");
                let _ = socket.send_to(&wire, from).await;
            }
        }
    });
    addr
}

fn answer(query: &Message) -> Option<Message> {
    let question = query.queries.first()?;
    let name = question.name().clone();
    let mut reply = Message::response(query.metadata.id, OpCode::Query);
    reply.metadata.message_type = MessageType::Response;
    reply.add_query(question.clone());
    let record = |data| Record::from_rdata(name.clone(), 60, data);
    match name.to_ascii().as_str() {
        "ok.test." => reply.add_answer(record(RData::A(A::new(192, 0, 2, 1)))),
        "v6.test." => reply.add_answer(record(RData::AAAA(AAAA(
            "2001:db8::1".parse().expect("v6"),
        )))),
        "alias.test." => reply.add_answer(record(RData::CNAME(CNAME(
            Name::from_ascii("Target.test.").expect("name"),
        )))),
        "txt.test." => {
            reply.add_answer(record(RData::TXT(TXT::new(vec!["v=".into(), "ok".into()]))))
        }
        "broken.test." => {
            reply.metadata.response_code = ResponseCode::ServFail;
            &mut reply
        }
        "silent.test." => return None,
        _ => {
            reply.metadata.response_code = ResponseCode::NXDomain;
            &mut reply
        }
    };
    Some(reply)
}
