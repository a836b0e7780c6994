//! The little HTTP/1.1 that a scrape needs, without I/O: decide from the
//! bytes received so far whether to wait for more, answer, or hang up.
//!
//! Every answer closes the connection (`Connection: close`), so there is no
//! keep-alive, pipelining or chunked body to get wrong; Prometheus opens a
//! new connection per scrape anyway.

use super::Metrics;

/// The most of a request netd reads. A scrape request is a few hundred bytes.
pub(super) const MAX_REQUEST: usize = 8 * 1024;

pub(super) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What to do after reading.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// The request head is not complete yet: read more.
    Wait,
    /// Send these bytes, then close.
    Reply(Vec<u8>),
    /// Close without a word: the peer sent nothing at all.
    Close,
}

use Next::{Close, Reply, Wait};

/// `received` is everything read so far; `ended` is true when no more can
/// come (the peer closed its side, or [`MAX_REQUEST`] bytes arrived).
pub(super) fn next(received: &[u8], ended: bool, metrics: &Metrics) -> Next {
    let Some(head_len) = head_end(received) else {
        return match (ended, received.len()) {
            (false, _) => Wait,
            (true, 0) => Close,
            (true, n) if n >= MAX_REQUEST => Reply(text(431, "request head over 8 KiB\n")),
            (true, _) => Reply(text(400, "incomplete request\n")),
        };
    };
    Reply(answer(&received[..head_len], metrics))
}

/// The answer to a complete request head.
fn answer(head: &[u8], metrics: &Metrics) -> Vec<u8> {
    let Some((method, target)) = request_line(head) else {
        return text(400, "bad request line\n");
    };
    if method != "GET" {
        return response(
            405,
            "text/plain; charset=utf-8",
            &["Allow: GET"],
            b"only GET\n",
        );
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    if path != "/metrics" {
        return text(404, "not found; metrics are at /metrics\n");
    }
    response(200, CONTENT_TYPE, &[], metrics.encode().as_bytes())
}

/// The length of the request head including its blank line, if it is all
/// there. Bare `\n` line ends are accepted, as RFC 9112 allows.
fn head_end(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Method and target of `METHOD SP TARGET SP HTTP/1.x`.
fn request_line(head: &[u8]) -> Option<(&str, &str)> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    // RFC 9110 tchar: a method netd does not know is 405, not 400.
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let ok = parts.next().is_none()
        && token(method)
        && target.starts_with('/')
        && !target.bytes().any(|b| b.is_ascii_control())
        && matches!(version, "HTTP/1.0" | "HTTP/1.1");
    ok.then_some((method, target))
}

fn text(status: u16, body: &str) -> Vec<u8> {
    response(status, "text/plain; charset=utf-8", &[], body.as_bytes())
}

fn response(status: u16, content_type: &str, extra: &[&str], body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(received: &[u8], ended: bool) -> String {
        match next(received, ended, &Metrics::new()) {
            Reply(bytes) => String::from_utf8(bytes).expect("utf-8 reply"),
            other => panic!(
                "{:?}: expected a reply, got {other:?}",
                String::from_utf8_lossy(received)
            ),
        }
    }

    fn status(received: &[u8]) -> String {
        reply(received, true)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn a_scrape_gets_the_metrics() {
        let r = reply(
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
            false,
        );
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            r.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")),
            "{r}"
        );
        assert!(r.contains("Connection: close\r\n"), "{r}");
        assert!(r.ends_with("# EOF\n"), "{r}");
        let (head, body) = r.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{head}"
        );
    }

    #[test]
    fn query_strings_bare_newlines_and_http_1_0_are_fine() {
        assert_eq!(
            status(b"GET /metrics?x=1 HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 200 OK"
        );
        assert_eq!(status(b"GET /metrics HTTP/1.0\n\n"), "HTTP/1.1 200 OK");
    }

    #[test]
    fn other_paths_are_404_and_other_methods_405() {
        assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found");
        assert_eq!(
            status(b"GET /metricsx HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 404 Not Found"
        );
        let r = reply(
            b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            true,
        );
        assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{r}");
        assert!(r.contains("Allow: GET\r\n"), "{r}");
        for method in ["HEAD", "M-SEARCH"] {
            let request = format!("{method} /metrics HTTP/1.1\r\n\r\n");
            assert_eq!(
                status(request.as_bytes()),
                "HTTP/1.1 405 Method Not Allowed"
            );
        }
    }

    #[test]
    fn junk_is_400() {
        for junk in [
            &b"\r\n\r\n"[..],
            b"GET\r\n\r\n",
            b"GET /metrics\r\n\r\n",
            b"GET /metrics HTTP/2.0\r\n\r\n",
            b"GET  /metrics HTTP/1.1\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"GET /met\x01rics HTTP/1.1\r\n\r\n",
            b"G\xffT /metrics HTTP/1.1\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
        ] {
            assert_eq!(status(junk), "HTTP/1.1 400 Bad Request", "{junk:?}");
        }
    }

    #[test]
    fn an_incomplete_head_waits_until_the_peer_stops() {
        let m = Metrics::new();
        assert_eq!(next(b"GET /metrics HTTP/1.1\r\n", false, &m), Wait);
        assert_eq!(
            status(b"GET /metrics HTTP/1.1\r\n"),
            "HTTP/1.1 400 Bad Request"
        );
        assert_eq!(next(b"", true, &m), Close);
    }

    #[test]
    fn an_oversized_head_is_431() {
        let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_REQUEST, b'a');
        assert_eq!(status(&big), "HTTP/1.1 431 Request Header Fields Too Large");
    }
}
