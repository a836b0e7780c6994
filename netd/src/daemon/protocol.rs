//! The control socket's protocol: one JSON request line, one JSON reply
//! line, both carrying `schema_version`. docs/control.md documents it.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

pub const SOCKET_NAME: &str = "netd.sock";
pub const SCHEMA_VERSION: u32 = 1;
/// A request is a few dozen bytes; anything longer is not netd's client.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Replies carry a report of every change of an apply.
const MAX_REPLY: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Status,
    Reload,
    Apply,
    /// Force or release an anycast service's state.
    Anycast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnycastAction {
    Announce,
    Withdraw,
    Release,
}

impl AnycastAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AnycastAction::Announce => "announce",
            AnycastAction::Withdraw => "withdraw",
            AnycastAction::Release => "release",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub schema_version: u32,
    pub command: Command,
    /// apply: also remove netd's namespaces and bridges that left the config.
    #[serde(default)]
    pub prune: bool,
    /// apply: the config the client means; the daemon refuses another
    /// file than its own rather than converge to the wrong one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PathBuf>,
    /// anycast: the service and what to do with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<AnycastAction>,
}

impl Request {
    pub fn new(command: Command) -> Request {
        Request {
            schema_version: SCHEMA_VERSION,
            command,
            prune: false,
            config: None,
            service: None,
            action: None,
        }
    }

    /// Parses one request line; the error is the reply to send.
    pub fn parse(line: &str) -> Result<Request, Value> {
        let request: Request =
            serde_json::from_str(line).map_err(|e| error_reply(&format!("bad request: {e}")))?;
        if request.schema_version != SCHEMA_VERSION {
            return Err(error_reply(&format!(
                "schema_version {} is not supported; this netd speaks {SCHEMA_VERSION}",
                request.schema_version
            )));
        }
        Ok(request)
    }
}

pub fn reply(mut body: Value) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.insert("schema_version".into(), json!(SCHEMA_VERSION));
        map.entry("ok").or_insert(json!(true));
    }
    body
}

pub fn error_reply(message: &str) -> Value {
    json!({ "schema_version": SCHEMA_VERSION, "ok": false, "error": message })
}

pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

/// Asks the daemon of `state_dir`. None when no daemon listens there (no
/// socket, or a stale one nobody accepts on).
pub async fn ask(state_dir: &Path, request: &Request) -> io::Result<Option<Value>> {
    let path = socket_path(state_dir);
    let stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(nix::libc::ENOENT) | Some(nix::libc::ECONNREFUSED)
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_string(request).map_err(io::Error::other)?;
    line.push('\n');
    write.write_all(line.as_bytes()).await?;
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REPLY));
    let mut answer = String::new();
    reader.read_line(&mut answer).await?;
    if answer.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the daemon closed the connection without an answer",
        ));
    }
    serde_json::from_str(&answer)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad reply: {e}")))
}

/// Like [`ask`], for commands that only look: a daemon busy with a long
/// apply must not hang `netd status`.
pub async fn ask_briefly(state_dir: &Path, request: &Request) -> io::Result<Option<Value>> {
    match tokio::time::timeout(Duration::from_secs(5), ask(state_dir, request)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the daemon did not answer within 5 s",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_strictly() {
        let r = Request::parse(r#"{"schema_version":1,"command":"status"}"#).unwrap();
        assert_eq!(r, Request::new(Command::Status));
        let r = Request::parse(r#"{"schema_version":1,"command":"apply","prune":true}"#).unwrap();
        assert!(r.prune);
        for bad in [
            r#"{"schema_version":2,"command":"status"}"#,
            r#"{"command":"status"}"#,
            r#"{"schema_version":1,"command":"format_disk"}"#,
            r#"{"schema_version":1,"command":"status","x":1}"#,
            "not json",
        ] {
            let e = Request::parse(bad).unwrap_err();
            assert_eq!(e["ok"], false, "{bad}");
            assert_eq!(e["schema_version"], 1);
        }
    }

    #[test]
    fn replies_carry_the_version_and_ok() {
        let r = reply(json!({"pid": 1}));
        assert_eq!(r["schema_version"], 1);
        assert_eq!(r["ok"], true);
        assert_eq!(reply(json!({"ok": false}))["ok"], false);
    }
}
