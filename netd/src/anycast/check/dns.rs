//! dns: one query over UDP, built and parsed with hickory-proto. Passes on
//! the expected rcode (by name) and, when `answer` is set, on an answer
//! record that renders as it: an A/AAAA address, a CNAME/NS/PTR name
//! (trailing dot and case insensitive) or a TXT record's text.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{CNAME, NS, PTR};
use hickory_proto::rr::{Name, RData, RecordType};

use super::{InNamespace, Outcome, io_detail};

/// The largest UDP payload.
const MAX_REPLY: usize = 65_535;

pub(super) struct Query<'a> {
    pub server: SocketAddr,
    pub name: &'a str,
    pub qtype: &'a str,
    pub rcode: &'a str,
    pub answer: Option<&'a str>,
}

/// The record type a config names ("A", "aaaa", "TXT"), for validation too.
pub fn qtype_by_name(name: &str) -> Option<RecordType> {
    RecordType::from_str(&name.to_ascii_uppercase()).ok()
}

/// The name of an rcode as configs and details spell it: NOERROR, SERVFAIL,
/// NXDOMAIN, REFUSED, …
pub fn rcode_name(code: ResponseCode) -> String {
    format!("{code:?}").to_ascii_uppercase()
}

/// The rcode a config names (any case), for validation too.
pub fn rcode_by_name(name: &str) -> Option<ResponseCode> {
    let wanted = name.to_ascii_uppercase();
    (0..=23u16)
        .map(|number| -> ResponseCode { number.into() })
        .find(|code| rcode_name(*code) == wanted)
}

pub(super) async fn check(ns: &InNamespace, want: Query<'_>) -> Outcome {
    let qtype = qtype_by_name(want.qtype).ok_or(format!("unknown query type {}", want.qtype))?;
    let name = Name::from_ascii(want.name).map_err(|e| format!("bad name {}: {e}", want.name))?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(hickory_proto::op::Query::query(name, qtype));
    let wire = query
        .to_vec()
        .map_err(|e| format!("cannot encode the query: {e}"))?;

    let socket = ns.udp(want.server).await.map_err(|e| io_detail(&e))?;
    socket.send(&wire).await.map_err(|e| io_detail(&e))?;
    let mut buf = vec![0u8; MAX_REPLY];
    let reply = loop {
        let len = socket.recv(&mut buf).await.map_err(|e| io_detail(&e))?;
        let reply = Message::from_vec(&buf[..len]).map_err(|e| format!("bad reply: {e}"))?;
        // A late reply to an earlier probe from the same port: wait for ours
        // (the probe's timeout bounds the wait).
        if reply.metadata.id == query.metadata.id
            && reply.metadata.message_type == MessageType::Response
        {
            break reply;
        }
    };
    judge(&reply, &want)
}

fn judge(reply: &Message, want: &Query<'_>) -> Outcome {
    let rcode = rcode_name(reply.metadata.response_code);
    let expected = want.rcode.to_ascii_uppercase();
    if rcode != expected {
        return Err(format!("rcode {rcode}, expected {expected}"));
    }
    let Some(wanted) = want.answer else {
        return Ok(format!("rcode {rcode}"));
    };
    if reply.answers.iter().any(|r| renders_as(&r.data, wanted)) {
        return Ok(format!("rcode {rcode}, answer {wanted}"));
    }
    let got: Vec<String> = reply.answers.iter().map(|r| render(&r.data)).collect();
    if got.is_empty() {
        Err(format!("no answer records, expected {wanted}"))
    } else {
        Err(format!("answer {}, expected {wanted}", got.join(" ")))
    }
}

fn renders_as(data: &RData, wanted: &str) -> bool {
    match data {
        RData::A(a) => wanted.parse::<IpAddr>() == Ok(IpAddr::V4(a.0)),
        RData::AAAA(a) => wanted.parse::<IpAddr>() == Ok(IpAddr::V6(a.0)),
        RData::CNAME(CNAME(name)) | RData::NS(NS(name)) | RData::PTR(PTR(name)) => {
            bare(&name.to_ascii()).eq_ignore_ascii_case(bare(wanted))
        }
        RData::TXT(_) => render(data) == wanted,
        _ => false,
    }
}

/// How a record's data shows in a failure's detail and compares for TXT.
fn render(data: &RData) -> String {
    match data {
        RData::CNAME(CNAME(name)) | RData::NS(NS(name)) | RData::PTR(PTR(name)) => {
            bare(&name.to_ascii()).to_string()
        }
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8_lossy(part))
            .collect(),
        other => other.to_string(),
    }
}

fn bare(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}
